package vipps

import (
	"context"
	"net/http"
)

// PutCategory sets the link shown with a payment in the customer's app, such
// as an order status page (CategoryOrderConfirmation) or a tracking page
// (CategoryDelivery), replacing any earlier one (PUT
// /order-management/v2/{paymentType}/categories/{orderId}).
func (c *Client) PutCategory(ctx context.Context, paymentType, orderID string, category Category) error {
	const op = "put category"
	path, err := omPath(op, paymentType, "categories/", orderID)
	if err != nil {
		return err
	}
	return c.do(ctx, call{op: op, method: http.MethodPut, path: path, body: category, replaySafe: true}, nil)
}
