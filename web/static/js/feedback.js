// The scanner's sounds and vibrations: one distinct signal per outcome,
// tones made with WebAudio (no sound files).

let ctx = null;

/** Create the audio context; call from a user gesture (a tap). */
export function unlockAudio() {
  const AC = window.AudioContext || window.webkitAudioContext;
  if (!AC) return;
  if (!ctx) ctx = new AC();
  if (ctx.state === 'suspended') ctx.resume();
}

function tone(freq, start, dur, type = 'sine', gain = 0.25) {
  const o = ctx.createOscillator();
  const g = ctx.createGain();
  o.type = type;
  o.frequency.value = freq;
  const t = ctx.currentTime + start;
  g.gain.setValueAtTime(0.0001, t);
  g.gain.exponentialRampToValueAtTime(gain, t + 0.01);
  g.gain.exponentialRampToValueAtTime(0.0001, t + dur);
  o.connect(g).connect(ctx.destination);
  o.start(t);
  o.stop(t + dur + 0.02);
}

const signals = {
  ok: { play: () => { tone(880, 0, 0.12); tone(1320, 0.12, 0.18); }, vibrate: [60] },
  bad: { play: () => { tone(220, 0, 0.22, 'square', 0.18); tone(180, 0.26, 0.32, 'square', 0.18); }, vibrate: [220, 90, 220] },
  warn: { play: () => { tone(660, 0, 0.14, 'triangle'); tone(660, 0.22, 0.14, 'triangle'); tone(660, 0.44, 0.14, 'triangle'); }, vibrate: [90, 60, 90, 60, 90] },
};

/** Signal an outcome: 'ok', 'bad' or 'warn'. */
export function signal(tone_) {
  const s = signals[tone_];
  if (!s) return;
  if (ctx && ctx.state === 'running') {
    try { s.play(); } catch { /* no sound is no reason to fail a scan */ }
  }
  if (navigator.vibrate) navigator.vibrate(s.vibrate);
}
