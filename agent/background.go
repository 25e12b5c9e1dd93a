package agent

import (
	"context"
	"errors"
	"log/slog"
	"sync"
)

// scheduler runs background work (extraction, summaries, embedding) one
// job at a time, and only while no reply streams: the person's reply
// comes first. A reply that starts while a job runs cancels the job, which
// runs again once the reply is done.
type scheduler struct {
	log *slog.Logger

	mu        sync.Mutex
	idle      *sync.Cond // signalled when replies or jobs finish
	replies   int        // replies streaming now
	queue     []*job
	running   *job
	cancelJob context.CancelCauseFunc
	closed    bool
	done      chan struct{}
}

type job struct {
	name string
	run  func(ctx context.Context) error
	// optional work is not waited for (Wait, Busy): a process may exit
	// without it, and what it leaves is picked up later (embedding past
	// messages).
	optional bool
}

// errPreempted cancels a background job when a reply starts.
var errPreempted = errors.New("a reply started")

func newScheduler(log *slog.Logger) *scheduler {
	s := &scheduler{log: log, done: make(chan struct{})}
	s.idle = sync.NewCond(&s.mu)
	go s.loop()
	return s
}

// reply marks a reply as streaming until the returned func is called.
func (s *scheduler) reply() (done func()) {
	s.mu.Lock()
	s.replies++
	if s.cancelJob != nil {
		s.cancelJob(errPreempted)
	}
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			s.replies--
			s.idle.Broadcast()
			s.mu.Unlock()
		})
	}
}

// enqueue adds a job; it runs when no reply streams.
func (s *scheduler) enqueue(name string, run func(ctx context.Context) error) {
	s.add(&job{name: name, run: run})
}

// enqueueOptional adds a job that Wait and Busy do not count.
func (s *scheduler) enqueueOptional(name string, run func(ctx context.Context) error) {
	s.add(&job{name: name, run: run, optional: true})
}

func (s *scheduler) add(j *job) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.queue = append(s.queue, j)
	s.idle.Broadcast()
}

func (s *scheduler) loop() {
	defer close(s.done)
	for {
		s.mu.Lock()
		for !s.closed && (len(s.queue) == 0 || s.replies > 0) {
			s.idle.Wait()
		}
		if s.closed {
			s.mu.Unlock()
			return
		}
		j := s.queue[0]
		s.queue = s.queue[1:]
		ctx, cancel := context.WithCancelCause(context.Background())
		s.running, s.cancelJob = j, cancel
		s.mu.Unlock()

		err := j.run(ctx)
		preempted := errors.Is(context.Cause(ctx), errPreempted)
		cancel(nil)

		s.mu.Lock()
		s.running, s.cancelJob = nil, nil
		switch {
		case preempted && !s.closed:
			// Preempted work always runs again; the person chatting fast
			// only delays it.
			s.queue = append([]*job{j}, s.queue...)
		case err != nil && !s.closed:
			s.log.Warn("background work failed", "job", j.name, "err", safeErr(err))
		}
		s.idle.Broadcast()
		s.mu.Unlock()
	}
}

// busy reports whether a job other than optional ones is queued or
// running.
func (s *scheduler) busy() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pending(false)
}

// pending reports whether a job (optional ones too, with all) is queued or
// running; the caller holds s.mu.
func (s *scheduler) pending(all bool) bool {
	if s.running != nil && (all || !s.running.optional) {
		return true
	}
	for _, j := range s.queue {
		if all || !j.optional {
			return true
		}
	}
	return false
}

// wait blocks until no job but optional ones is queued or running, or ctx
// ends.
func (s *scheduler) wait(ctx context.Context) error { return s.waitFor(ctx, false) }

// waitFor is wait, for optional jobs too with all.
func (s *scheduler) waitFor(ctx context.Context, all bool) error {
	stop := context.AfterFunc(ctx, func() {
		s.mu.Lock()
		s.idle.Broadcast()
		s.mu.Unlock()
	})
	defer stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.pending(all) && !s.closed && ctx.Err() == nil {
		s.idle.Wait()
	}
	return ctx.Err()
}

// close cancels the running job, drops the queue and stops the loop.
func (s *scheduler) close() {
	s.mu.Lock()
	s.closed = true
	s.queue = nil
	if s.cancelJob != nil {
		s.cancelJob(context.Canceled)
	}
	s.idle.Broadcast()
	s.mu.Unlock()
	<-s.done
}
