package iptables

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSplitArgs(t *testing.T) {
	tests := map[string]struct {
		line    string
		want    []string
		wantErr bool
	}{
		"plain":          {line: "-s 10.0.0.0/8 -j ACCEPT", want: []string{"-s", "10.0.0.0/8", "-j", "ACCEPT"}},
		"quoted comment": {line: `-m comment --comment "kgctl: a b" -j X`, want: []string{"-m", "comment", "--comment", "kgctl: a b", "-j", "X"}},
		"escapes":        {line: `--comment "q\"uote back\\slash x\'y"`, want: []string{"--comment", `q"uote back\slash x'y`}},
		"bare backslash": {line: `--comment back\slash`, want: []string{"--comment", `back\slash`}},
		"empty quotes":   {line: `--comment ""`, want: []string{"--comment", ""}},
		"tabs and runs":  {line: "a\t b  c", want: []string{"a", "b", "c"}},
		"unterminated":   {line: `--comment "x`, wantErr: true},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := splitArgs(tt.line)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("splitArgs(%q) (-want +got):\n%s", tt.line, diff)
			}
		})
	}
}

func TestQuoteRoundTrip(t *testing.T) {
	for _, s := range []string{"plain", "kgctl: a b", `q"uote`, `back\slash`, "x'y", "", "tab\there", "10.0.0.0/24", "!"} {
		q := quoteArg(s)
		got, err := splitArgs("--comment " + q)
		if err != nil {
			t.Fatalf("splitArgs(%q): %v", q, err)
		}
		if diff := cmp.Diff([]string{"--comment", s}, got); diff != "" {
			t.Errorf("round trip of %q via %q (-want +got):\n%s", s, q, diff)
		}
	}
}

func TestCanonical(t *testing.T) {
	tests := map[string]struct {
		fam     Family
		spec    string
		want    string
		wantErr string
	}{
		"already canonical": {
			spec: `-s 10.2.0.0/24 -m comment --comment "kgctl: x" -j KILO-NAT`,
			want: `-s 10.2.0.0/24 -m comment --comment "kgctl: x" -j KILO-NAT`,
		},
		"bare address gets /32": {spec: "-d 10.4.0.1 -j RETURN", want: "-d 10.4.0.1/32 -j RETURN"},
		"host bits masked":      {spec: "-s 10.2.0.1/24 -j RETURN", want: "-s 10.2.0.0/24 -j RETURN"},
		"dotted netmask":        {spec: "-s 10.0.0.0/255.255.0.0 -j RETURN", want: "-s 10.0.0.0/16 -j RETURN"},
		"match-all dropped":     {spec: "-s 0.0.0.0/0 -j ACCEPT", want: "-j ACCEPT"},
		"negated match-all":     {spec: "! -s 0.0.0.0/0 -j ACCEPT", want: "! -s 0.0.0.0/0 -j ACCEPT"},
		"basic options first": {
			spec: `-m comment --comment c -p tcp --dport 80 -o eth1 -i eth0 ! -d 10.1.2.3 -s 10.0.0.0/8 -j ACCEPT`,
			want: `-s 10.0.0.0/8 ! -d 10.1.2.3/32 -i eth0 -o eth1 -p tcp -m comment --comment c -m tcp --dport 80 -j ACCEPT`,
		},
		"long names":              {spec: "--source 1.2.3.4 --jump ACCEPT", want: "-s 1.2.3.4/32 -j ACCEPT"},
		"explicit proto match":    {spec: "-p udp -m udp --sport 53 -j RETURN", want: "-p udp -m udp --sport 53 -j RETURN"},
		"syn and ports reordered": {spec: "-p tcp --syn --dport 80 --source-port 5 -j ACCEPT", want: "-p tcp -m tcp --sport 5 --dport 80 --tcp-flags FIN,SYN,RST,ACK SYN -j ACCEPT"},
		"negated syn":             {spec: "-p tcp ! --syn -j ACCEPT", want: "-p tcp -m tcp ! --tcp-flags FIN,SYN,RST,ACK SYN -j ACCEPT"},
		"protocol number":         {spec: "-p 6 -j RETURN", want: "-p tcp -j RETURN"},
		"protocol all":            {spec: "-p all -j RETURN", want: "-j RETURN"},
		"upper-case protocol":     {spec: "-p TCP -j RETURN", want: "-p tcp -j RETURN"},
		"negated match option":    {spec: "-m conntrack ! --ctstate NEW -j ACCEPT", want: "-m conntrack ! --ctstate NEW -j ACCEPT"},
		"target options":          {spec: "-j MASQUERADE --random", want: "-j MASQUERADE --random"},
		"goto":                    {spec: "-g T2", want: "-g T2"},
		"no target":               {spec: "-s 10.0.0.0/8", want: "-s 10.0.0.0/8"},
		"ipv6": {
			fam:  IPv6,
			spec: "-s FD00::1/64 -d fd00:0:0::1 -p icmpv6 --icmpv6-type 128 -j ACCEPT",
			want: "-s fd00::/64 -d fd00::1/128 -p ipv6-icmp -m icmp6 --icmpv6-type 128 -j ACCEPT",
		},
		"ipv6 match-all": {fam: IPv6, spec: "-s ::/0 -j ACCEPT", want: "-j ACCEPT"},
		"address list":   {spec: "-s 10.0.0.0/8,10.1.0.0/16 -j ACCEPT", wantErr: "several rules"},
		"wrong family":   {spec: "-s fd00::/64 -j ACCEPT", wantErr: "not an IPv4 address"},
		"hostname":       {spec: "-s example.com -j ACCEPT", wantErr: "not an IP address"},
		"two targets":    {spec: "-j ACCEPT -j DROP", wantErr: "more than one target"},
		"missing value":  {spec: "-j", wantErr: "needs a value"},
		"dport without p": {
			spec: "--dport 80 -j ACCEPT", wantErr: "needs -p",
		},
		"stray argument": {spec: "foo -j ACCEPT", wantErr: "belongs to no match"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			fam := tt.fam
			if fam == 0 {
				fam = IPv4
			}
			spec, err := splitArgs(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			got, err := canonical(spec, fam)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want, _ := splitArgs(tt.want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("canonical(%q) (-want +got):\n%s", tt.spec, diff)
			}
		})
	}
}

func TestHasMarker(t *testing.T) {
	tests := map[string]struct {
		spec []string
		want bool
	}{
		"prefixed":      {spec: []string{"-m", "comment", "--comment", "kgctl: x"}, want: true},
		"exact":         {spec: []string{"-m", "comment", "--comment", "kgctl"}, want: true},
		"other program": {spec: []string{"-m", "comment", "--comment", "kgctlx: y"}},
		"kilo":          {spec: []string{"-m", "comment", "--comment", "Kilo: jump"}},
		"no comment":    {spec: []string{"-j", "MASQUERADE"}},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			if got := hasMarker(tt.spec, "kgctl"); got != tt.want {
				t.Errorf("hasMarker(%q) = %v, want %v", tt.spec, got, tt.want)
			}
		})
	}
}
