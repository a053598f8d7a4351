// Package iscsilogin is a minimal iSCSI initiator for tests: it opens one
// TCP connection to a target portal and logs in (RFC 7143 section 11.12,
// Login Request; 11.13, Login Response) with whatever InitiatorName and
// InitiatorAlias the test chooses, then keeps the session open until Close.
// It speaks no SCSI and supports no authentication but AuthMethod=None.
//
// It exists so that the real-tgtd tests can log in the way a hostile
// initiator would, with text no well-behaved initiator sends (an alias with
// line breaks), which tgtd then prints in its listings.
package iscsilogin

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// Login stages (CSG/NSG) of RFC 7143 section 11.12.3.
const (
	stageSecurity    = 0
	stageOperational = 1
	stageFullFeature = 3
)

const (
	bhsLen          = 48
	opLoginRequest  = 0x03
	opLoginResponse = 0x23
	flagImmediate   = 0x40
	flagTransit     = 0x80
	flagContinue    = 0x40
	// maxLoginData bounds what is read back: a login response is small.
	maxLoginData = 64 * 1024
)

// Params is what the initiator says about itself.
type Params struct {
	InitiatorName  string
	InitiatorAlias string // sent only when not ""
	TargetName     string
	ISID           [6]byte // zero: a fixed random-format ISID
	CID            uint16
}

// Session is a logged-in connection.
type Session struct {
	conn net.Conn
}

// Close drops the connection; the target ends the session with it.
func (s *Session) Close() error { return s.conn.Close() }

// LoginError is a login the target refused, with its status (RFC 7143
// section 11.13.5).
type LoginError struct {
	Class, Detail byte
}

func (e *LoginError) Error() string {
	return fmt.Sprintf("iscsi login refused: status class %#02x detail %#02x", e.Class, e.Detail)
}

// Login connects to portal ("127.0.0.1:3260") and logs in: the security
// stage with AuthMethod=None, then the operational stage, answering every
// key the target asks about with the target's own value, until the target
// moves to the full feature phase.
func Login(portal string, p Params, timeout time.Duration) (*Session, error) {
	conn, err := net.DialTimeout("tcp", portal, timeout)
	if err != nil {
		return nil, err
	}
	s, err := login(conn, p, timeout)
	if err != nil {
		conn.Close()
		return nil, err
	}
	// No deadline once logged in: the session is kept open, idle.
	_ = conn.SetDeadline(time.Time{})
	return s, nil
}

func login(conn net.Conn, p Params, timeout time.Duration) (*Session, error) {
	if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return nil, err
	}
	isid := p.ISID
	if isid == ([6]byte{}) {
		// Type 10b (random) in the top two bits; any non-zero value works.
		isid = [6]byte{0x80, 0x12, 0x34, 0x56, 0x00, 0x01}
	}
	req := request{isid: isid, cid: p.CID, itt: 1}
	keys := []string{
		"InitiatorName=" + p.InitiatorName,
		"SessionType=Normal",
		"TargetName=" + p.TargetName,
		"AuthMethod=None",
	}
	if p.InitiatorAlias != "" {
		keys = append(keys, "InitiatorAlias="+p.InitiatorAlias)
	}
	rsp, err := req.exchange(conn, stageSecurity, stageOperational, keys)
	if err != nil {
		return nil, err
	}
	if !rsp.transit || rsp.nsg != stageOperational {
		return nil, fmt.Errorf("iscsi login: target did not leave the security stage (flags %#02x)", rsp.flags)
	}
	// Offer the plainest operational values; then echo whatever the
	// target declares, which accepts its choice.
	keys = []string{"HeaderDigest=None", "DataDigest=None", "InitialR2T=Yes", "ImmediateData=No", "MaxRecvDataSegmentLength=8192"}
	for round := 0; round < 8; round++ {
		rsp, err = req.exchange(conn, stageOperational, stageFullFeature, keys)
		if err != nil {
			return nil, err
		}
		if rsp.transit && rsp.nsg == stageFullFeature {
			return &Session{conn: conn}, nil
		}
		keys = rsp.keys
	}
	return nil, errors.New("iscsi login: operational negotiation did not finish")
}

// request holds the fields that stay the same across a login's PDUs.
type request struct {
	isid   [6]byte
	tsih   uint16
	cid    uint16
	itt    uint32
	cmdSN  uint32
	statSN uint32 // the next StatSN expected
}

type response struct {
	flags    byte
	transit  bool
	nsg      byte
	tsih     uint16
	statSN   uint32
	keys     []string
	class    byte
	detail   byte
	dataSize int
}

// exchange sends one Login Request with keys and reads the response.
func (r *request) exchange(conn net.Conn, csg, nsg byte, keys []string) (*response, error) {
	if _, err := conn.Write(r.encode(csg, nsg, keys)); err != nil {
		return nil, err
	}
	rsp, err := readResponse(conn)
	if err != nil {
		return nil, err
	}
	if rsp.class != 0 {
		return nil, &LoginError{Class: rsp.class, Detail: rsp.detail}
	}
	r.tsih = rsp.tsih
	r.statSN = rsp.statSN + 1
	return rsp, nil
}

// encode builds a Login Request PDU: the 48-byte BHS and the NUL-terminated
// key=value pairs, padded to a 4-byte boundary.
func (r *request) encode(csg, nsg byte, keys []string) []byte {
	var data bytes.Buffer
	for _, k := range keys {
		data.WriteString(k)
		data.WriteByte(0)
	}
	bhs := make([]byte, bhsLen)
	bhs[0] = flagImmediate | opLoginRequest
	bhs[1] = flagTransit | csg<<2 | nsg
	bhs[2], bhs[3] = 0, 0 // Version-max, Version-min
	n := data.Len()
	bhs[5], bhs[6], bhs[7] = byte(n>>16), byte(n>>8), byte(n)
	copy(bhs[8:14], r.isid[:])
	binary.BigEndian.PutUint16(bhs[14:16], r.tsih)
	binary.BigEndian.PutUint32(bhs[16:20], r.itt)
	binary.BigEndian.PutUint16(bhs[20:22], r.cid)
	binary.BigEndian.PutUint32(bhs[24:28], r.cmdSN)
	binary.BigEndian.PutUint32(bhs[28:32], r.statSN)
	out := append(bhs, data.Bytes()...)
	for len(out)%4 != 0 {
		out = append(out, 0)
	}
	return out
}

func readResponse(conn io.Reader) (*response, error) {
	bhs := make([]byte, bhsLen)
	if _, err := io.ReadFull(conn, bhs); err != nil {
		return nil, fmt.Errorf("iscsi login: reading the response header: %w", err)
	}
	if bhs[0]&0x3f != opLoginResponse {
		return nil, fmt.Errorf("iscsi login: got opcode %#02x, want a login response", bhs[0]&0x3f)
	}
	ahs := int(bhs[4]) * 4
	size := int(bhs[5])<<16 | int(bhs[6])<<8 | int(bhs[7])
	if size > maxLoginData {
		return nil, fmt.Errorf("iscsi login: response data of %d bytes", size)
	}
	padded := (size + 3) &^ 3
	rest := make([]byte, ahs+padded)
	if _, err := io.ReadFull(conn, rest); err != nil {
		return nil, fmt.Errorf("iscsi login: reading the response data: %w", err)
	}
	rsp := &response{
		flags:    bhs[1],
		transit:  bhs[1]&flagTransit != 0,
		nsg:      bhs[1] & 0x03,
		tsih:     binary.BigEndian.Uint16(bhs[14:16]),
		statSN:   binary.BigEndian.Uint32(bhs[24:28]),
		class:    bhs[36],
		detail:   bhs[37],
		dataSize: size,
	}
	if rsp.flags&flagContinue != 0 {
		return nil, errors.New("iscsi login: continued responses are not supported")
	}
	for _, kv := range bytes.Split(rest[ahs:ahs+size], []byte{0}) {
		if len(kv) > 0 {
			rsp.keys = append(rsp.keys, string(kv))
		}
	}
	return rsp, nil
}
