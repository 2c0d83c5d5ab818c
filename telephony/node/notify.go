package node

import (
	"context"
	"log/slog"

	"github.com/callflow/callflow/store"
)

// notificationLog logs the notifications stored since the node started,
// each once, in the order they were stored, whichever process stored
// them. It is used from Run's goroutine only.
type notificationLog struct {
	st   *store.Store
	log  *slog.Logger
	last int64 // the newest notification logged, or there at start
}

// start remembers the newest notification already stored: those were
// there before this node and callflow notifications lists them.
func (n *notificationLog) start(ctx context.Context) error {
	ns, err := n.st.Notifications(ctx)
	if err != nil {
		return err
	}
	if len(ns) > 0 {
		n.last = ns[0].ID
	}
	return nil
}

func (n *notificationLog) flush(ctx context.Context) {
	ns, err := n.st.NotificationsAfter(ctx, n.last)
	if err != nil {
		n.log.Warn("cannot read notifications", "err", err)
		return
	}
	for i := len(ns) - 1; i >= 0; i-- {
		n.log.Warn("notification", "kind", ns[i].Kind, "message", ns[i].Message)
		n.last = ns[i].ID
	}
}
