// What the server put in the page for its module (a classic script: it runs before modules).
// The pages carry no inline scripts (Content-Security-Policy): values come as data- attributes.
window.TRANSBORDO_BOT = document.currentScript.dataset.bot;
