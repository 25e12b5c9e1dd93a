// Package gym turns a person's feedback (ratings, preferred answers,
// corrections) into datasets in the formats trainers read (TRL's SFT, DPO
// and KTO), redacts them, and, only when the person approves, sends them
// signed under a per-gym pseudonymous key to open post-training gyms. It
// also runs a gym node that checks, keeps and exports contributions.
package gym
