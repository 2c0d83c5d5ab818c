// Package telephony will answer real SIP calls and run their flows over
// RTP (see DESIGN.md, "Runtime"). It is empty until the runtime issue
// lands; the package exists now so that the dependency rules in
// deps_test.go cover it from the start.
package telephony
