//go:build desktop

// Command emptywails is an empty Wails app: one static page, Wails'
// defaults. .ci/desktopmem measures it beside Cairn's window, in the same
// run, as the baseline for memory and start time. Build it with the same
// tags as Cairn's desktop app:
//
//	go build -tags desktop,production,webkit2_41 -o bin/emptywails ./.ci/emptywails
package main

import (
	"embed"
	"log"

	"github.com/wailsapp/wails/v2"
	"github.com/wailsapp/wails/v2/pkg/options"
	"github.com/wailsapp/wails/v2/pkg/options/assetserver"
)

//go:embed index.html
var assets embed.FS

func main() {
	err := wails.Run(&options.App{
		Title:       "Empty",
		Width:       1100,
		Height:      760,
		AssetServer: &assetserver.Options{Assets: assets},
	})
	if err != nil {
		log.Fatal(err)
	}
}
