package audiotest

import "testing"

func TestCompareFindsTheOffsetAndALostPacket(t *testing.T) {
	want := Speech(10*8000, 1)
	got := append([]int16(nil), want[12345:12345+6*8000]...)
	r, err := Compare(want, got, 8000)
	if err != nil {
		t.Fatal(err)
	}
	if r.Offset != 12345 || len(r.SNR) != 5 || r.Worst() < 100 {
		t.Fatalf("an exact copy: %v, want offset 12345, 5 seconds, ≥ 100 dB", r)
	}
	// A lost packet (20 ms of silence) in the fourth second.
	clear(got[3*8000+1000 : 3*8000+1160])
	r, _ = Compare(want, got, 8000)
	if r.Worst() > 25 || r.SNR[1] < 100 {
		t.Errorf("a lost packet: %v (%v), want one second below 25 dB and the others exact", r, r.SNR)
	}
	// Another signal altogether.
	other := Speech(6*8000, 2)
	if r, _ := Compare(want, other, 8000); r.Worst() > 3 {
		t.Errorf("another signal: %v, want no second above 3 dB", r)
	}
}
