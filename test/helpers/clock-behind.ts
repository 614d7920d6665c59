/**
 * Preloaded into a service process (`NODE_OPTIONS=--import=<this file's URL>`) to run its clock an
 * hour behind, as an instance on a machine whose clock is wrong would. The store takes `Date.now`
 * when it is opened, so the whole service keeps this clock. Never import it into a test itself.
 */
const realNow = Date.now;
Date.now = () => realNow() - 60 * 60 * 1000;
