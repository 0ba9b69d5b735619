package vipps

import (
	"context"
	"net/http"
	"strings"
)

// orderManagementPath is the Order Management v2 root.
const orderManagementPath = "/order-management/v2/"

// omPath builds /order-management/v2/{paymentType}/{kind}{orderId}. kind is
// "receipts/", "categories/" or "" (the order itself).
func omPath(op, paymentType, kind, orderID string) (string, error) {
	pt, err := pathSegment(op, "payment type", strings.ToUpper(paymentType))
	if err != nil {
		return "", err
	}
	id, err := pathSegment(op, "order id", orderID)
	if err != nil {
		return "", err
	}
	return orderManagementPath + pt + "/" + kind + id, nil
}

// GetOrder reads the category and receipt attached to an order (GET
// /order-management/v2/{paymentType}/{orderId}). paymentType is
// PaymentTypeEcom for ePayment; orderID is the payment reference.
func (c *Client) GetOrder(ctx context.Context, paymentType, orderID string) (*OrderWithCategoryAndReceipt, error) {
	const op = "get order"
	path, err := omPath(op, paymentType, "", orderID)
	if err != nil {
		return nil, err
	}
	var out OrderWithCategoryAndReceipt
	if err := c.do(ctx, call{op: op, method: http.MethodGet, path: path, replaySafe: true}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
