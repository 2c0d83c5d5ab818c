package wav_test

import (
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"

	"github.com/callflow/callflow/internal/wav"
)

// A two-channel recording of a bridged call, written as its frames come,
// then read back.
func ExampleWriter() {
	path := filepath.Join(os.TempDir(), "example-bridged.wav")
	defer os.Remove(path)
	f, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	w, err := wav.NewWriter(f, 8000, 2) // caller, agent
	if err != nil {
		log.Fatal(err)
	}
	frame := make([]int16, 2*160) // 20 ms, interleaved: caller, agent, caller…
	for range 50 {                // one second
		if err := w.Write(frame); err != nil {
			log.Fatal(err)
		}
	}
	if err := w.Close(); err != nil { // patches the sizes; f stays open
		log.Fatal(err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		log.Fatal(err)
	}
	r, err := wav.NewReader(f)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r.Format.Channels, r.Format.Rate, r.Frames())
	f.Close()
	// Output: 2 8000 8000
}
