//go:build !(linux && amd64)

package main

import (
	"errors"
	"net"
	"net/netip"
)

// Batched I/O is written for linux/amd64 only; elsewhere -gen-sockets
// must be 0.

type batch struct {
	msgs []struct{ len uint32 }
	bufs [][]byte
	n    int
}

var errNoBatches = errors.New("-gen-sockets needs linux/amd64's sendmmsg and recvmmsg")

func newBatch(size, bufSize int) *batch                 { return &batch{} }
func (b *batch) add(netip.AddrPort, int) ([]byte, bool) { return make([]byte, packetSize), true }
func (b *batch) send(*net.UDPConn) (int, error)         { return 0, errNoBatches }
func (b *batch) receive(*net.UDPConn) (int, error)      { return 0, errNoBatches }
