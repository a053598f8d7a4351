package tgt

// What the external test package (tgt_test, which may import pkg/pool)
// needs of the real-tgtd helpers.

// StartRealTgtd starts a private tgtd on loopback; see startRealTgtd.
var StartRealTgtd = startRealTgtd

// Portal is the loopback address the private tgtd listens on.
func (d *realTgtd) Portal() string { return d.portal }

// ControlPort is its tgtadm control port.
func (d *realTgtd) ControlPort() int { return d.controlPort }

// Client is a Tgt talking to it.
func (d *realTgtd) Client() *Tgt { return d.client() }
