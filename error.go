// Package admit is the domain of the admit check-in server: its types, the
// one redeem decision and the interfaces the decision needs. It imports only
// the standard library. Storage lives in sqlstore, each wire dialect in a
// package of its own, and the wiring in cmd/admit.
package admit

import (
	"context"
	"errors"
	"fmt"
)

// Code classifies an error so that every dialect can map it to its own wire
// status. Internal details never reach a client: only the message of an error
// with a non-internal code does.
type Code string

const (
	EInvalid      Code = "invalid"
	ENotFound     Code = "not_found"
	EConflict     Code = "conflict"
	EUnauthorized Code = "unauthorized"
	EForbidden    Code = "forbidden"
	EInternal     Code = "internal"
	// ECanceled is a request its client gave up (its context canceled):
	// no error of ours, never answered 500 nor logged as an error. Each
	// door answers it 499 (the client closed its request), which only a
	// half-closed connection still reads.
	ECanceled Code = "canceled"
)

// StatusClientClosed is the status of an ECanceled answer (nginx's 499).
const StatusClientClosed = 499

// Error is the domain error: a code, a message safe to show a client, and an
// optional wrapped cause for the log.
type Error struct {
	Code    Code
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// WrapInternal wraps a cause as an internal error; msg says what failed.
func WrapInternal(err error, msg string) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return &Error{Code: EInternal, Message: msg, Err: err}
}

// ErrorCode returns the code of err: EInternal for an error that is not an
// *Error, "" for nil. An internal error caused by a canceled context (the
// client went away) is ECanceled.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	code := EInternal
	var e *Error
	if errors.As(err, &e) {
		code = e.Code
	}
	if code == EInternal && errors.Is(err, context.Canceled) {
		return ECanceled
	}
	return code
}

// ErrorMessage returns the client-safe message of err. Internal errors get a
// generic text: their details belong in the log only.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) && e.Code != EInternal {
		return e.Message
	}
	return "internal error"
}

// IsNotFound reports whether err carries ENotFound.
func IsNotFound(err error) bool { return ErrorCode(err) == ENotFound }

// RequestErrorCode is ErrorCode for an error met while serving a request
// whose context is ctx: an internal error after the client went away is
// ECanceled whatever the driver made of the cancellation (SQLite, for one,
// answers "interrupted").
func RequestErrorCode(ctx context.Context, err error) Code {
	code := ErrorCode(err)
	if code == EInternal && errors.Is(ctx.Err(), context.Canceled) {
		return ECanceled
	}
	return code
}
