// Package v20170312 stands in for Tencent Cloud's VPC SDK, which the Go
// module proxy does not serve: flanneld links every backend, and the test
// build only runs vxlan. Every call returns errUnavailable.
package v20170312

import "errors"

var errUnavailable = errors.New("tencentvpc backend is not part of this flanneld build (kgctl test build)")

type Client struct{}

type Filter struct {
	Name   *string
	Values []*string
}

type Route struct {
	RouteId              *uint64
	DestinationCidrBlock *string
	GatewayType          *string
	GatewayId            *string
	RouteType            *string
	Enabled              *bool
}

type RouteTable struct {
	RouteTableId *string
	RouteSet     []*Route
}

type DescribeRouteTablesRequest struct{ Filters []*Filter }

type DescribeRouteTablesResponse struct {
	Response struct{ RouteTableSet []*RouteTable }
}

type RoutesRequest struct {
	RouteTableId *string
	Routes       []*Route
}

type RoutesResponse struct{}

func NewClientWithSecretId(id, secret, region string) (*Client, error) {
	return &Client{}, errUnavailable
}

func NewDescribeRouteTablesRequest() *DescribeRouteTablesRequest {
	return &DescribeRouteTablesRequest{}
}
func NewDeleteRoutesRequest() *RoutesRequest { return &RoutesRequest{} }
func NewCreateRoutesRequest() *RoutesRequest { return &RoutesRequest{} }

func (*Client) DescribeRouteTables(*DescribeRouteTablesRequest) (*DescribeRouteTablesResponse, error) {
	return nil, errUnavailable
}
func (*Client) DeleteRoutes(*RoutesRequest) (*RoutesResponse, error) { return nil, errUnavailable }
func (*Client) CreateRoutes(*RoutesRequest) (*RoutesResponse, error) { return nil, errUnavailable }
