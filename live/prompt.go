package live

import "github.com/callflow/callflow/vm"

// PromptKey names a prompt as apply stores its prepared audio with a flow
// version, and as the server looks it up: its kind and text, such as
// "say:Welcome." or "play:audio/welcome.wav". Queue hold music is a play
// prompt. It must agree with plan.PromptKey, which writes the keys (a
// test in package plan holds them together).
func PromptKey(c *vm.Const) (string, bool) {
	switch {
	case c.Kind == vm.ConstSay:
		return "say:" + c.Text, true
	case c.Kind == vm.ConstPlay, c.Kind == vm.ConstQueue && c.Text != "":
		return "play:" + c.Text, true
	}
	return "", false
}
