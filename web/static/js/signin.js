// The sign-in link's page: send its form at once. Link previews that only
// fetch the page never run this, so they never use the link up.
const form = document.getElementById('signin-link');
if (form) form.requestSubmit();
