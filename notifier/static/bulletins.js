// A bulletin's progress page: while messages are still queued, load the page again every 5 seconds.
// Progressive only: without JavaScript the page has a Refresh link.
const progress = document.getElementById('progress')
if (progress && progress.dataset.refresh === 'yes') {
  window.setTimeout(() => window.location.reload(), 5000)
}
