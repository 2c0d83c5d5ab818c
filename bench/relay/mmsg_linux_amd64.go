package main

import (
	"net"
	"net/netip"
	"syscall"
	"unsafe"
)

// The generator's batched I/O: sendmmsg and recvmmsg move many
// datagrams a system call, so that the generator, which shares the
// machine's two cores with the relay, costs a fraction of what one
// sendto and one recvfrom a packet would. The relay under measurement
// does not use them: each call's socket gets one packet every 20 ms.

// System call numbers on linux/amd64, which package syscall lacks.
const (
	sysSendmmsg = 307
	sysRecvmmsg = 299
)

type mmsghdr struct {
	hdr syscall.Msghdr
	len uint32
	_   [4]byte
}

// batch is a set of datagrams for one socket.
type batch struct {
	msgs  []mmsghdr
	iovs  []syscall.Iovec
	names []syscall.RawSockaddrInet4
	bufs  [][]byte
	n     int
}

func newBatch(size, bufSize int) *batch {
	b := &batch{
		msgs:  make([]mmsghdr, size),
		iovs:  make([]syscall.Iovec, size),
		names: make([]syscall.RawSockaddrInet4, size),
		bufs:  make([][]byte, size),
	}
	for i := range b.msgs {
		b.bufs[i] = make([]byte, bufSize)
		b.iovs[i].Base = &b.bufs[i][0]
		b.iovs[i].SetLen(bufSize)
		b.msgs[i].hdr.Iov = &b.iovs[i]
		b.msgs[i].hdr.Iovlen = 1
		b.msgs[i].hdr.Name = (*byte)(unsafe.Pointer(&b.names[i]))
		b.msgs[i].hdr.Namelen = syscall.SizeofSockaddrInet4
	}
	return b
}

// add queues a datagram of size bytes, written into the returned buffer,
// to dst; it reports false when the batch is full.
func (b *batch) add(dst netip.AddrPort, size int) ([]byte, bool) {
	if b.n == len(b.msgs) {
		return nil, false
	}
	i := b.n
	b.n++
	name := &b.names[i]
	name.Family = syscall.AF_INET
	name.Addr = dst.Addr().As4()
	port := dst.Port()
	name.Port = port<<8 | port>>8 // network order
	b.iovs[i].SetLen(size)
	return b.bufs[i][:size], true
}

// send sends the queued datagrams on conn and empties the batch; it
// returns how many went.
func (b *batch) send(conn *net.UDPConn) (int, error) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return 0, err
	}
	sent := 0
	var serr error
	for sent < b.n && serr == nil {
		err = rc.Write(func(fd uintptr) bool {
			r, _, e := syscall.Syscall6(sysSendmmsg, fd, uintptr(unsafe.Pointer(&b.msgs[sent])), uintptr(b.n-sent), syscall.MSG_DONTWAIT, 0, 0)
			if e == syscall.EAGAIN {
				return false // wait until the socket can take more
			}
			if e != 0 {
				serr = e
				return true
			}
			sent += int(r)
			return true
		})
		if err != nil {
			serr = err
		}
	}
	b.n = 0
	return sent, serr
}

// receive reads up to len(b.msgs) datagrams from conn, waiting for the
// first, and returns how many it read; b.bufs[i][:b.msgs[i].len] is the
// i-th.
func (b *batch) receive(conn *net.UDPConn) (int, error) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return 0, err
	}
	for i := range b.msgs {
		b.iovs[i].SetLen(len(b.bufs[i]))
		b.msgs[i].hdr.Namelen = syscall.SizeofSockaddrInet4
	}
	n := 0
	var rerr error
	err = rc.Read(func(fd uintptr) bool {
		r, _, e := syscall.Syscall6(sysRecvmmsg, fd, uintptr(unsafe.Pointer(&b.msgs[0])), uintptr(len(b.msgs)), syscall.MSG_DONTWAIT, 0, 0)
		if e == syscall.EAGAIN {
			return false
		}
		if e != 0 {
			rerr = e
		}
		n = int(r)
		return true
	})
	if err != nil {
		return 0, err
	}
	return n, rerr
}
