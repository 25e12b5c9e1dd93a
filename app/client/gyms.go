package client

import (
	"context"
	"net/url"

	"github.com/cairnlabs/cairn/app/apitype"
	"github.com/cairnlabs/cairn/gym"
)

// Gyms lists the gyms the person added.
func (c *Client) Gyms(ctx context.Context) ([]gym.GymInfo, error) {
	var out apitype.GymList
	err := c.do(ctx, "GET", "/api/v1/gym/gyms", nil, nil, &out)
	return out.Gyms, err
}

// AddGym adds a gym by its address, fetching and checking its manifest.
func (c *Client) AddGym(ctx context.Context, address string) (gym.GymInfo, error) {
	var g gym.GymInfo
	err := c.do(ctx, "POST", "/api/v1/gym/gyms", nil, apitype.GymAddress{Address: address}, &g)
	return g, err
}

// RemoveGym forgets a gym (its id or name), its key and its unsent outbox.
func (c *Client) RemoveGym(ctx context.Context, gymRef string) error {
	return c.do(ctx, "DELETE", "/api/v1/gym/gyms/"+url.PathEscape(gymRef), nil, nil, nil)
}

// GymOutbox lists approved contributions and revocations, sent or not.
func (c *Client) GymOutbox(ctx context.Context) ([]gym.OutboxEntry, error) {
	var out apitype.GymOutbox
	err := c.do(ctx, "GET", "/api/v1/gym/outbox", nil, nil, &out)
	return out.Outbox, err
}

// SendGymOutbox sends what waits in the outbox now.
func (c *Client) SendGymOutbox(ctx context.Context) (gym.SendReport, error) {
	var rep gym.SendReport
	err := c.do(ctx, "POST", "/api/v1/gym/outbox/send", nil, nil, &rep)
	return rep, err
}

// GymReceipts are the gym's signed receipts, by item hash.
func (c *Client) GymReceipts(ctx context.Context, gymRef string) ([]gym.KeptReceipt, error) {
	var out apitype.GymReceipts
	err := c.do(ctx, "GET", "/api/v1/gym/gyms/"+url.PathEscape(gymRef)+"/receipts", nil, nil, &out)
	return out.Receipts, err
}

// RevokeGymItems withdraws items from a gym by hash and sends the
// revocation at once.
func (c *Client) RevokeGymItems(ctx context.Context, gymRef string, hashes []string) (apitype.GymRevoked, error) {
	var out apitype.GymRevoked
	err := c.do(ctx, "POST", "/api/v1/gym/gyms/"+url.PathEscape(gymRef)+"/revoke", nil, apitype.GymRevocation{Items: hashes}, &out)
	return out, err
}
