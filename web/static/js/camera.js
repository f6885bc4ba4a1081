// The scanner's camera: the rear camera by default, switchable, with the
// torch where the phone has one, and QR decoding by the browser's
// BarcodeDetector where it reads QR codes, else by jsQR in a worker.

const MAX_SIDE = 720; // frames are scaled down to this for jsQR
const INTERVAL = 90; // ms between decode attempts at most

async function nativeDetector() {
  if (!('BarcodeDetector' in window)) return null;
  try {
    const formats = await window.BarcodeDetector.getSupportedFormats();
    if (!formats.includes('qr_code')) return null;
    return new window.BarcodeDetector({ formats: ['qr_code'] });
  } catch {
    return null;
  }
}

export class Camera {
  /** onCode(text) for every code read; onState(info) when things change. */
  constructor(video, onCode, onState) {
    this.video = video;
    this.onCode = onCode;
    this.onState = onState || (() => {});
    this.stream = null;
    this.devices = [];
    this.deviceId = null;
    this.torch = false;
    this.running = false;
    this.decoder = null; // 'native' | 'jsqr'
    this.frames = 0;
    this.timer = 0;
  }

  async init() {
    this.detector = await nativeDetector();
    if (this.detector) {
      this.decoder = 'native';
    } else {
      this.decoder = 'jsqr';
      this.worker = new Worker(new URL('./decoder-worker.js', import.meta.url));
      this.pending = null;
      this.worker.onmessage = (e) => {
        const p = this.pending;
        this.pending = null;
        if (p) p(e.data);
      };
      this.canvas = document.createElement('canvas');
      this.c2d = this.canvas.getContext('2d', { willReadFrequently: true });
    }
  }

  async start(deviceId) {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      throw new Error(window.isSecureContext ? 'This browser has no camera access.' : 'The camera needs a secure page: open the scanner over https.');
    }
    if (!this.decoder) await this.init();
    this.stop();
    const video = deviceId ? { deviceId: { exact: deviceId } } : { facingMode: { ideal: 'environment' } };
    video.width = { ideal: 1280 };
    video.height = { ideal: 720 };
    this.stream = await navigator.mediaDevices.getUserMedia({ video, audio: false });
    const track = this.stream.getVideoTracks()[0];
    this.deviceId = track.getSettings().deviceId || deviceId || null;
    this.video.srcObject = this.stream;
    await this.video.play().catch(() => {});
    this.devices = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === 'videoinput');
    this.torch = false;
    this.running = true;
    this.onState(this.info());
    this.loop();
  }

  info() {
    const track = this.stream && this.stream.getVideoTracks()[0];
    const caps = track && track.getCapabilities ? track.getCapabilities() : {};
    return { running: this.running, canSwitch: this.devices.length > 1, hasTorch: !!caps.torch, torch: this.torch, decoder: this.decoder };
  }

  stop() {
    this.running = false;
    clearTimeout(this.timer);
    if (this.stream) for (const t of this.stream.getTracks()) t.stop();
    this.stream = null;
  }

  async switchCamera() {
    if (this.devices.length < 2) return;
    const i = this.devices.findIndex((d) => d.deviceId === this.deviceId);
    const next = this.devices[(i + 1) % this.devices.length];
    await this.start(next.deviceId);
  }

  async setTorch(on) {
    const track = this.stream && this.stream.getVideoTracks()[0];
    if (!track) return;
    await track.applyConstraints({ advanced: [{ torch: on }] });
    this.torch = on;
    this.onState(this.info());
  }

  loop() {
    if (!this.running) return;
    const started = performance.now();
    this.decodeFrame().then((text) => {
      if (text) this.onCode(text);
    }).catch(() => {}).finally(() => {
      if (!this.running) return;
      const spent = performance.now() - started;
      this.timer = setTimeout(() => this.loop(), Math.max(10, INTERVAL - spent));
    });
  }

  async decodeFrame() {
    const v = this.video;
    if (v.readyState < 2 || !v.videoWidth) return null;
    this.frames++;
    if (this.decoder === 'native') {
      const codes = await this.detector.detect(v);
      return codes.length ? codes[0].rawValue : null;
    }
    const scale = Math.min(1, MAX_SIDE / Math.max(v.videoWidth, v.videoHeight));
    const w = Math.round(v.videoWidth * scale);
    const h = Math.round(v.videoHeight * scale);
    if (this.canvas.width !== w) this.canvas.width = w;
    if (this.canvas.height !== h) this.canvas.height = h;
    this.c2d.drawImage(v, 0, 0, w, h);
    const img = this.c2d.getImageData(0, 0, w, h);
    const answer = await new Promise((resolve) => {
      this.pending = resolve;
      this.worker.postMessage({ id: this.frames, data: img.data.buffer, width: w, height: h }, [img.data.buffer]);
    });
    return answer.text || null;
  }
}
