// Package progress draws a one-line progress bar on a terminal, for long
// commands (admit import, admit bench): how far, how many per second, how
// long still. On anything but a terminal it draws nothing at all, so that
// logs and pipes get only the command's own output.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Every is how often a bar is redrawn.
const Every = 200 * time.Millisecond

// Enabled reports whether w is a terminal (a bar is drawn on it).
func Enabled(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isTerminal(f)
}

// Bar is a progress bar being drawn; Stop ends it.
type Bar struct {
	w           io.Writer
	label, unit string
	read        func() (fraction float64, count int64)
	start       time.Time
	stop        chan struct{}
	done        chan struct{}
	once        sync.Once
	width       int // of the last line drawn
}

// Start draws a bar on w, if w is a terminal, every Every until Stop.
// read returns how far the work is (0 to 1; negative when unknown) and how
// many units (tickets, scans) are done. On any other w, Start draws
// nothing and Stop does nothing.
func Start(w io.Writer, label, unit string, read func() (fraction float64, count int64)) *Bar {
	b := &Bar{w: w, label: label, unit: unit, read: read, start: time.Now()}
	if !Enabled(w) {
		return b
	}
	b.stop, b.done = make(chan struct{}), make(chan struct{})
	go b.loop()
	return b
}

func (b *Bar) loop() {
	defer close(b.done)
	t := time.NewTicker(Every)
	defer t.Stop()
	for {
		b.draw(false)
		select {
		case <-b.stop:
			b.draw(true)
			return
		case <-t.C:
		}
	}
}

func (b *Bar) draw(final bool) {
	f, n := b.read()
	line := Line(b.label, b.unit, f, n, time.Since(b.start))
	pad := ""
	if len(line) < b.width {
		pad = strings.Repeat(" ", b.width-len(line)) // clear the rest of a longer line
	}
	b.width = len(line)
	end := ""
	if final {
		end = "\n"
	}
	fmt.Fprintf(b.w, "\r%s%s%s", line, pad, end)
}

// Stop draws the bar a last time and ends its line.
func (b *Bar) Stop() {
	if b == nil || b.stop == nil {
		return
	}
	b.once.Do(func() {
		close(b.stop)
		<-b.done
	})
}

// barWidth is the bar's width in characters, between its brackets.
const barWidth = 24

// Line is one drawing of a bar: the label, the bar and the percentage when
// the fraction is known (0 to 1), the count with its unit, the rate, and
// the time left when it can be told.
//
//	import  [==========>             ]  45%  123,456 tickets  52,310/s  1m05s left
func Line(label, unit string, fraction float64, count int64, elapsed time.Duration) string {
	var sb strings.Builder
	sb.WriteString(label)
	if fraction >= 0 {
		fraction = min(fraction, 1)
		full := int(fraction * barWidth)
		sb.WriteString("  [")
		sb.WriteString(strings.Repeat("=", full))
		if full < barWidth {
			sb.WriteString(">")
			sb.WriteString(strings.Repeat(" ", barWidth-full-1))
		}
		fmt.Fprintf(&sb, "] %3d%%", int(fraction*100))
	}
	fmt.Fprintf(&sb, "  %s %s", thousands(count), unit)
	if s := elapsed.Seconds(); s >= 0.5 {
		fmt.Fprintf(&sb, "  %s/s", thousands(int64(float64(count)/s)))
		if fraction > 0.001 && fraction < 1 {
			left := time.Duration(float64(elapsed) * (1 - fraction) / fraction)
			fmt.Fprintf(&sb, "  %s left", left.Round(time.Second))
		}
	}
	return sb.String()
}

// thousands writes n with commas: 1234567 → 1,234,567.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}
