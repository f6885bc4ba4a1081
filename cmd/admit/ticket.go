package main

import (
	"context"
	"fmt"
	"os"

	qrcode "github.com/skip2/go-qrcode"
)

func cmdTicketQR(ctx context.Context, env *cmdEnv, args []string) error {
	fs := newFlags("ticket qr", env)
	db := dbFlag(fs, env)
	png := fs.String("png", "", "write the QR code as PNG to this file")
	size := fs.Int("size", 512, "PNG size in pixels")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errUsage("usage: admit ticket qr UUID [--png FILE]")
	}
	core, closeStore, err := openCore(ctx, env, *db, quietLogger(env))
	if err != nil {
		return err
	}
	defer closeStore()
	t, err := core.TicketQR(ctx, pos[0])
	if err != nil {
		return err
	}
	qr, err := qrcode.New(t.QRCode, qrcode.Medium)
	if err != nil {
		return fmt.Errorf("make QR code: %w", err)
	}
	if *png != "" {
		if *size < 64 || *size > 8192 {
			return errUsage("--size must be between 64 and 8192")
		}
		b, err := qr.PNG(*size)
		if err != nil {
			return fmt.Errorf("render PNG: %w", err)
		}
		if err := os.WriteFile(*png, b, 0o644); err != nil {
			return fmt.Errorf("write PNG: %w", err)
		}
		return printJSON(env.stdout, map[string]string{"uuid": t.UUID, "qrcode_data": t.QRCode, "png": *png})
	}
	fmt.Fprint(env.stdout, qr.ToSmallString(false))
	fmt.Fprintln(env.stdout, t.QRCode)
	return nil
}
