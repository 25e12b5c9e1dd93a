// Package gym turns a person's feedback (ratings, preferred answers,
// corrections) into datasets in the formats trainers read, redacts them,
// and, only when the person approves, sends them signed under a per-gym
// pseudonymous key to open post-training gyms; it also runs a gym node.
//
// Not built yet: the foundation (package memory and the CLI) comes first.
package gym
