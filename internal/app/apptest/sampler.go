package apptest

import (
	"context"
	"sync"
	"time"

	"ai-platform/internal/task"
)

// StatusCounter is the part of a store a ProcessingSampler reads.
type StatusCounter interface {
	CountTasksByStatus(ctx context.Context) (map[task.Status]int, error)
}

// ProcessingSampler counts the tasks in processing at a fixed interval, in
// the background, and keeps the highest count: how concurrency-cap tests
// show the cap was never exceeded. Failed reads (a store restarting) are
// skipped.
type ProcessingSampler struct {
	mu            sync.Mutex
	peak, samples int
	stop, done    chan struct{}
	once          sync.Once
}

// SampleProcessing starts sampling st every interval until Stop.
func SampleProcessing(st StatusCounter, every time.Duration) *ProcessingSampler {
	s := &ProcessingSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
			counts, err := st.CountTasksByStatus(context.Background())
			if err != nil {
				continue
			}
			s.mu.Lock()
			s.peak = max(s.peak, counts[task.StatusProcessing])
			s.samples++
			s.mu.Unlock()
		}
	}()
	return s
}

// Stop ends the sampling (once; later calls only read) and returns the
// highest processing count seen and the number of samples taken.
func (s *ProcessingSampler) Stop() (peak, samples int) {
	s.once.Do(func() { close(s.stop) })
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak, s.samples
}
