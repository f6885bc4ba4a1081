// QR decoding off the page's thread, with the vendored jsQR (for browsers
// without BarcodeDetector: desktop Linux Chromium, Firefox, iOS Safari).
// A classic worker: jsQR is a UMD bundle, not an ES module.
/* global jsQR */
importScripts('../vendor/jsQR.js');

self.onmessage = (e) => {
  const { id, data, width, height } = e.data;
  let text = null;
  try {
    const r = jsQR(new Uint8ClampedArray(data), width, height, { inversionAttempts: 'attemptBoth' });
    if (r && r.data) text = r.data;
  } catch (err) {
    self.postMessage({ id, error: String(err) });
    return;
  }
  self.postMessage({ id, text });
};
