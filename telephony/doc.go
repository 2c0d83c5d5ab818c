// Package telephony will answer real SIP calls and run their flows over
// RTP (see DESIGN.md, "Runtime"). Its subpackage media holds the pieces
// that do not need a network: G.711, RTP framing and RFC 4733 DTMF.
package telephony
