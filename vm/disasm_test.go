package vm_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/callflow/callflow/vm"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// supportFlow assembles, by hand, a flow that uses every opcode and every
// shape of every operand: prompts of both kinds and none, the record flag
// set and clear, both ring strategies, every result a branch tests, the
// * key, every hang-up reason in code, queues with and without music and
// announcement, and a range that spans lines.
func supportFlow() (*vm.Program, error) {
	a := vm.NewAsm("support")
	welcome := a.Const(vm.Const{Kind: vm.ConstSay, Text: "Thank you for calling."})
	menu := a.Const(vm.Const{Kind: vm.ConstPlay, Text: "audio/menu.wav"})
	alice := a.Const(vm.Const{Kind: vm.ConstUser, Text: "alice"})
	billing := a.Const(vm.Const{Kind: vm.ConstGroup, Text: "billing"})
	busy := a.Const(vm.Const{Kind: vm.ConstSay, Text: "All our agents are busy."})
	queue := a.Const(vm.Const{Kind: vm.ConstQueue, Text: "audio/hold.wav", MaxWaiting: 5, Repeat: 3, Announcement: busy})
	bareQueue := a.Const(vm.Const{Kind: vm.ConstQueue, MaxWaiting: 1, Repeat: 1, Announcement: vm.NoPrompt})
	tone := a.Const(vm.Const{Kind: vm.ConstSay, Text: "Please leave a message after the tone."})
	goodbyePrompt := a.Const(vm.Const{Kind: vm.ConstSay, Text: "Goodbye."})
	if again := a.Const(vm.Const{Kind: vm.ConstSay, Text: "Thank you for calling."}); again != welcome {
		return nil, fmt.Errorf("Asm.Const gave %d for a constant already at %d", again, welcome)
	}

	line := func(n, from, to uint32) vm.Range {
		return vm.Range{Filename: "flows/support.hcl", StartLine: n, StartColumn: from, EndLine: n, EndColumn: to, StartByte: n * 40, EndByte: n*40 + to - from}
	}
	sales, group, overflow, queued, retry, voicemail, goodbye := a.NewLabel(), a.NewLabel(), a.NewLabel(), a.NewLabel(), a.NewLabel(), a.NewLabel(), a.NewLabel()
	connected, message, noMessage := a.NewLabel(), a.NewLabel(), a.NewLabel()

	a.State("announce.welcome", line(3, 3, 40))
	a.Emit(vm.ANSWER)
	a.Emit(vm.PLAY, welcome)

	a.State("ivr.main", vm.Range{Filename: "flows/support.hcl", StartLine: 8, StartColumn: 3, EndLine: 12, EndColumn: 4, StartByte: 200, EndByte: 320})
	a.Emit(vm.GATHER, menu, 5)
	a.EmitJump(vm.IF_DIGIT, sales, 1)
	a.EmitJump(vm.IF_DIGIT, group, vm.DigitStar)
	a.EmitJump(vm.IF_RESULT, voicemail, uint32(vm.ResultTimeout))
	a.EmitJump(vm.JUMP, goodbye)

	a.State("transfer_user.sales", line(14, 3, 30))
	a.Bind(sales)
	a.Emit(vm.RING_USER, alice, 30, vm.FlagRecord)
	a.EmitJump(vm.IF_RESULT, connected, uint32(vm.ResultAnswered))
	a.EmitJump(vm.IF_RESULT, queued, uint32(vm.ResultBusy))
	a.EmitJump(vm.JUMP, voicemail)

	a.State("queue.sales", line(20, 5, 10))
	a.Bind(queued)
	a.Emit(vm.QUEUE, queue)
	a.EmitJump(vm.IF_RESULT, retry, uint32(vm.ResultAvailable))
	a.EmitJump(vm.IF_RESULT, voicemail, uint32(vm.ResultFull))
	a.Emit(vm.QUEUE, bareQueue)
	a.EmitJump(vm.JUMP, voicemail)

	a.State("transfer_user.retry", line(26, 3, 30))
	a.Bind(retry)
	a.Emit(vm.RING_USER, alice, 15, 0)
	a.EmitJump(vm.IF_RESULT, connected, uint32(vm.ResultAnswered))

	a.State("transfer_group.billing", line(30, 3, 33))
	a.Bind(group)
	a.Emit(vm.RING_GROUP, billing, uint32(vm.Sequential), 15, vm.FlagRecord)
	a.EmitJump(vm.IF_RESULT, connected, uint32(vm.ResultAnswered))
	a.EmitJump(vm.IF_RESULT, overflow, uint32(vm.ResultAllBusy))
	a.EmitJump(vm.IF_RESULT, goodbye, uint32(vm.ResultUnavailable))
	a.EmitJump(vm.JUMP, voicemail)

	a.State("transfer_group.overflow", line(36, 3, 33))
	a.Bind(overflow)
	a.Emit(vm.RING_GROUP, billing, uint32(vm.Parallel), 20, 0)
	a.EmitJump(vm.IF_RESULT, connected, uint32(vm.ResultAnswered))

	a.State("voicemail.general", line(40, 3, 22))
	a.Bind(voicemail)
	a.Emit(vm.RECORD, tone, 120, 180)
	a.EmitJump(vm.IF_RESULT, message, uint32(vm.ResultSaved))
	a.EmitJump(vm.IF_RESULT, noMessage, uint32(vm.ResultNotSaved))
	a.Emit(vm.RECORD, vm.NoPrompt, 60, 90)
	a.EmitJump(vm.IF_RESULT, message, uint32(vm.ResultSaved))
	a.EmitJump(vm.JUMP, noMessage)

	a.State("announce.goodbye", line(48, 3, 25))
	a.Bind(goodbye)
	a.Emit(vm.PLAY, goodbyePrompt)
	a.Emit(vm.HANGUP, uint32(vm.ReasonFlowEnd))

	a.State("end.connected", line(14, 3, 30))
	a.Bind(connected)
	a.Emit(vm.HANGUP, uint32(vm.ReasonConnected))
	a.State("end.message", line(40, 3, 22))
	a.Bind(message)
	a.Emit(vm.HANGUP, uint32(vm.ReasonMessage))
	a.State("end.no_message", line(40, 3, 22))
	a.Bind(noMessage)
	a.Emit(vm.HANGUP, uint32(vm.ReasonNoMessage))
	return a.Program()
}

// TestDisassembleGolden compares the disassembly of supportFlow with
// testdata/support.golden.
func TestDisassembleGolden(t *testing.T) {
	p, err := supportFlow()
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.Disassemble()
	if err != nil {
		t.Fatal(err)
	}
	// The program must really cover the whole opcode table.
	for op := vm.Opcode(0); op.String() != "ILLEGAL"; op++ {
		if !strings.Contains(got, " "+op.String()+" ") && !strings.Contains(got, " "+op.String()+"\n") {
			t.Errorf("supportFlow does not use %s", op)
		}
	}
	golden := filepath.Join("testdata", "support.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./vm -run TestDisassembleGolden -update)", err)
	}
	if got != string(want) {
		t.Errorf("disassembly differs from %s (run with -update to accept):\n%s", golden, lineDiff(string(want), got))
	}
}

// TestDisassembleVerifies checks that Disassemble verifies a program it is
// given unverified, and refuses an invalid one.
func TestDisassembleVerifies(t *testing.T) {
	p := rawProgram(cat(ins(vm.ANSWER), ins(vm.HANGUP, 0)))
	text, err := p.Disassemble()
	if err != nil {
		t.Fatal(err)
	}
	want := "flow raw: 1 state, 5 constants, 3 bytes, longest path 2\n" +
		"  #0   say \"Hello.\"\n" +
		"  #1   play \"audio/menu.wav\"\n" +
		"  #2   user \"alice\"\n" +
		"  #3   group \"billing\"\n" +
		"  #4   queue max_waiting=5 repeat=3 music=\"audio/hold.wav\" announcement=#0\n" +
		"announce.start  (:0,0-0)\n" +
		"  0000  ANSWER\n" +
		"  0001  HANGUP     flow-end\n"
	if text != want {
		t.Errorf("got\n%s\nwant\n%s", text, want)
	}
	var m vm.Machine
	if err := m.Init(p, nil); err != nil {
		t.Errorf("Disassemble verified the program, but Init says %v", err)
	}

	bad := rawProgram(cat(ins(vm.ANSWER), ins(vm.JUMP, 0)))
	if _, err := bad.Disassemble(); err == nil {
		t.Error("Disassemble accepted a program with a backward jump")
	}
}

// TestOpcodeNames fails if an opcode has no name or two share one.
func TestOpcodeNames(t *testing.T) {
	seen := map[string]vm.Opcode{}
	n := 0
	for op := vm.Opcode(0); op < 255; op++ {
		name := op.String()
		if name == "ILLEGAL" {
			continue
		}
		n++
		if name == "" {
			t.Errorf("opcode %d has no name", op)
		}
		if prev, ok := seen[name]; ok {
			t.Errorf("opcodes %d and %d are both named %s", prev, op, name)
		}
		seen[name] = op
	}
	if n != int(vm.IF_DIGIT)+1 {
		t.Errorf("%d named opcodes, want %d (is the table out of step with the constants?)", n, vm.IF_DIGIT+1)
	}
}

// TestNames checks the String methods and ParseResult.
func TestNames(t *testing.T) {
	for r := vm.ResultDone; r <= vm.ResultHungUp; r++ {
		got, ok := vm.ParseResult(r.String())
		if !ok || got != r {
			t.Errorf("ParseResult(%q) = %v, %v; want %v", r.String(), got, ok, r)
		}
	}
	for _, s := range []string{"none", "", "illegal", "Done"} {
		if r, ok := vm.ParseResult(s); ok {
			t.Errorf("ParseResult(%q) = %v, want no result", s, r)
		}
	}
	for _, c := range []struct{ got, want string }{
		{vm.Result(200).String(), "illegal"},
		{vm.EffectKind(200).String(), "illegal"},
		{vm.EffectRingGroup.String(), "ring-group"},
		{vm.ConstKind(0).String(), "illegal"},
		{vm.ConstQueue.String(), "queue"},
		{vm.Strategy(2).String(), "illegal"},
		{vm.Sequential.String(), "sequential"},
		{vm.HangupReason(200).String(), "illegal"},
		{vm.ReasonCallerHungUp.String(), "caller-hung-up"},
		{vm.ReasonStopped.String(), "stopped"},
		{vm.Opcode(200).String(), "ILLEGAL"},
		{vm.Range{Filename: "f.hcl", StartLine: 1, StartColumn: 2, EndLine: 1, EndColumn: 9}.String(), "f.hcl:1,2-9"},
		{vm.Range{Filename: "f.hcl", StartLine: 1, StartColumn: 2, EndLine: 4294967295, EndColumn: 10}.String(), "f.hcl:1,2-4294967295,10"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

// lineDiff shows the first lines where want and got differ.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; (i < len(w) || i < len(g)) && shown < 10; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			b.WriteString("line " + strconv.Itoa(i+1) + ":\n  want " + wl + "\n  got  " + gl + "\n")
			shown++
		}
	}
	return b.String()
}
