package telephony

import (
	"github.com/callflow/callflow/telephony/prompt"
)

// memoryRecorder records a message in memory and keeps it with save at
// the end.
type memoryRecorder struct {
	save    func(callID string, a prompt.Audio) (bool, error)
	callID  string
	samples []int16
}

func newMemoryRecorder(save func(string, prompt.Audio) (bool, error), callID string) *memoryRecorder {
	return &memoryRecorder{save: save, callID: callID}
}

func (r *memoryRecorder) Write(s []int16) error { r.samples = append(r.samples, s...); return nil }

func (r *memoryRecorder) Seconds() float64 { return float64(len(r.samples)) / prompt.Rate }

func (r *memoryRecorder) Discard() { r.samples = nil }

func (r *memoryRecorder) Keep() (bool, error) {
	if r.save == nil {
		return false, nil
	}
	return r.save(r.callID, prompt.Audio{Samples: r.samples})
}
