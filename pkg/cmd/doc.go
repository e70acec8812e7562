// Package cmd holds kgctl's cobra commands. Each command turns its flags
// into an options value (Complete, Validate, Run) and calls the packages
// that do the work; it writes only to the streams it is given.
package cmd
