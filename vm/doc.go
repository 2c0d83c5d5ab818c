// Package vm will hold the opcode table, the program encoding and its
// verifier, and the per-call machine that runs a compiled flow (see
// DESIGN.md, "Bytecode and the VM"). It imports the standard library only.
//
// It is empty until the bytecode issue lands; the package exists now so
// that the dependency rules in deps_test.go cover it from the start.
package vm
