package owner

import "context"

// cleanup undoes what was set up, last first: one ordered list that a
// failed start and a stop both run, so neither forgets a step.
type cleanup []func(ctx context.Context)

// add registers f to run before everything added earlier.
func (u *cleanup) add(f func(ctx context.Context)) { *u = append(*u, f) }

// run runs the list, last added first.
func (u cleanup) run(ctx context.Context) {
	for i := len(u) - 1; i >= 0; i-- {
		u[i](ctx)
	}
}
