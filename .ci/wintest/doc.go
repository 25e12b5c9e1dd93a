// Package wintest runs the Windows build of Cairn (bin/cairn-headless.exe,
// bin/cairn.exe, cross-built by `make build-windows`) under Wine and checks
// it against the Linux build: the command line, a vault and a bundle moved
// across both ways, serve answering the README's curl examples over
// loopback, a wrong passphrase, kill -9 of serve, and the desktop exe
// without WebView2. `make test-windows` runs it; it is outside ./..., so
// `make test` does not.
package wintest
