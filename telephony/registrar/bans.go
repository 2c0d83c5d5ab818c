package registrar

import (
	"sync"
	"time"
)

// BanPolicy says when failed authentications ban a source or lock a
// user. Failures are counted in a sliding window.
type BanPolicy struct {
	// SourceFailures failed authentications from one IP address within
	// SourceWindow ban it for SourceBan: its requests are then dropped
	// unanswered.
	SourceFailures int
	SourceWindow   time.Duration
	SourceBan      time.Duration
	// UserFailures failed authentications against one user within
	// UserWindow, from any sources, lock the user for UserLock: every
	// authentication of theirs then fails as a wrong password does, so
	// that a lock tells an attacker nothing.
	UserFailures int
	UserWindow   time.Duration
	UserLock     time.Duration
}

// DefaultBanPolicy bans a source after 10 failures in 5 minutes, for 15
// minutes, and locks a user after 20 failures in 10 minutes, for 15
// minutes. A phone with a wrong password fails once per registration
// attempt (every minute or more), far below either; svcrack tries
// passwords as fast as it is answered, and is banned at its 10th.
var DefaultBanPolicy = BanPolicy{
	SourceFailures: 10, SourceWindow: 5 * time.Minute, SourceBan: 15 * time.Minute,
	UserFailures: 20, UserWindow: 10 * time.Minute, UserLock: 15 * time.Minute,
}

// maxKeys bounds the sources followed, so that a flood from many
// addresses cannot grow memory without limit; past it, entries with no
// recent failure and no ban are pruned.
const maxKeys = 1 << 16

// limiter counts failures by key (a source IP or a user) and bans a key
// that has too many within the window.
type limiter struct {
	failures int
	window   time.Duration
	ban      time.Duration

	mu   sync.Mutex
	keys map[string]*strikes // guarded by mu
}

type strikes struct {
	at          []time.Time // failures within the window, oldest first
	bannedUntil time.Time
}

func newLimiter(failures int, window, ban time.Duration) *limiter {
	return &limiter{failures: failures, window: window, ban: ban, keys: map[string]*strikes{}}
}

// banned reports whether key is banned at now.
func (l *limiter) banned(key string, now time.Time) bool {
	if l.failures <= 0 {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.keys[key]
	return s != nil && now.Before(s.bannedUntil)
}

// fail counts a failure of key at now and reports whether it banned key
// (true once per ban).
func (l *limiter) fail(key string, now time.Time) bool {
	if l.failures <= 0 {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.keys[key]
	if s == nil {
		if len(l.keys) >= maxKeys {
			l.prune(now)
		}
		s = &strikes{}
		l.keys[key] = s
	}
	if now.Before(s.bannedUntil) {
		return false
	}
	cut := 0
	for cut < len(s.at) && now.Sub(s.at[cut]) > l.window {
		cut++
	}
	s.at = append(s.at[cut:], now)
	if len(s.at) >= l.failures {
		s.at = nil
		s.bannedUntil = now.Add(l.ban)
		return true
	}
	return false
}

func (l *limiter) prune(now time.Time) {
	for k, s := range l.keys {
		if now.After(s.bannedUntil) && (len(s.at) == 0 || now.Sub(s.at[len(s.at)-1]) > l.window) {
			delete(l.keys, k)
		}
	}
}
