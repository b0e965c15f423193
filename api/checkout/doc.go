// Package checkout is the hosted checkout's HTTP layer: the shop API under
// /checkout/api/v1 (create a payment and its checkout_url, retrieve, list,
// refund; Bearer ck_test_/ck_live_ keys, Idempotency-Key), the operator
// routes of shops under /admin/checkout, and the webhooks it registers with
// the shared outbox (Standard Webhooks signatures). docs/api/checkout.md
// gives every decision the spec leaves open.
//
// It calls actors/checkout for every change and reads engine/checkout's
// state through ReadState; it keeps no state of its own.
package checkout
