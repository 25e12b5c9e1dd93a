//go:build desktop && linux

package desktop

/*
#cgo linux pkg-config: gtk+-3.0
#cgo !webkit2_41 pkg-config: webkit2gtk-4.0
#cgo webkit2_41 pkg-config: webkit2gtk-4.1

#include <stdlib.h>
#include <gtk/gtk.h>
#include <webkit2/webkit2.h>

// cairn_tune_context sets WebKit's process-wide memory settings. It must run
// before the first web view exists (so before Wails creates its window), on
// the thread that then runs GTK.
static void cairn_tune_context(void) {
	WebKitWebContext *ctx = webkit_web_context_get_default();
	// A single page app needs no memory cache for pages it has left.
	webkit_web_context_set_cache_model(ctx, WEBKIT_CACHE_MODEL_DOCUMENT_VIEWER);
#if WEBKIT_CHECK_VERSION(2, 34, 0)
	// The network process: release caches early, well before any limit.
	WebKitMemoryPressureSettings *mp = webkit_memory_pressure_settings_new();
	webkit_memory_pressure_settings_set_memory_limit(mp, 64);
	webkit_memory_pressure_settings_set_conservative_threshold(mp, 0.2);
	webkit_memory_pressure_settings_set_strict_threshold(mp, 0.4);
	webkit_memory_pressure_settings_set_poll_interval(mp, 10.0);
	webkit_website_data_manager_set_memory_pressure_settings(mp);
	webkit_memory_pressure_settings_free(mp);
#endif
}

static WebKitWebView *cairn_find_webview(GtkWidget *w) {
	if (WEBKIT_IS_WEB_VIEW(w)) return WEBKIT_WEB_VIEW(w);
	if (!GTK_IS_CONTAINER(w)) return NULL;
	WebKitWebView *found = NULL;
	GList *children = gtk_container_get_children(GTK_CONTAINER(w));
	for (GList *l = children; l != NULL && found == NULL; l = l->next) {
		found = cairn_find_webview(GTK_WIDGET(l->data));
	}
	g_list_free(children);
	return found;
}

// cairn_webview finds the window's web view (Wails does not expose it).
static WebKitWebView *cairn_webview(void) {
	WebKitWebView *found = NULL;
	GList *tops = gtk_window_list_toplevels();
	for (GList *l = tops; l != NULL && found == NULL; l = l->next) {
		found = cairn_find_webview(GTK_WIDGET(l->data));
	}
	g_list_free(tops);
	return found;
}

static gboolean cairn_tune_view(gpointer data) {
	WebKitWebView *view = cairn_webview();
	if (view == NULL) return G_SOURCE_REMOVE;
	WebKitSettings *s = webkit_web_view_get_settings(view);
	// Nothing to go back to: the app never leaves its one page.
	webkit_settings_set_enable_page_cache(s, FALSE);
	webkit_settings_set_enable_webaudio(s, FALSE);
	webkit_settings_set_enable_webgl(s, FALSE);
	webkit_settings_set_enable_media(s, FALSE);
	webkit_settings_set_enable_site_specific_quirks(s, FALSE);
	return G_SOURCE_REMOVE;
}

static gboolean cairn_edit(gpointer data) {
	char *cmd = (char *)data;
	WebKitWebView *view = cairn_webview();
	if (view != NULL) webkit_web_view_execute_editing_command(view, cmd);
	free(cmd);
	return G_SOURCE_REMOVE;
}

static gboolean cairn_zoom(gpointer data) {
	double *step = (double *)data;
	WebKitWebView *view = cairn_webview();
	if (view != NULL) {
		double z = *step == 0 ? 1.0 : webkit_web_view_get_zoom_level(view) + *step;
		if (z < 0.5) z = 0.5;
		if (z > 3.0) z = 3.0;
		webkit_web_view_set_zoom_level(view, z);
	}
	free(step);
	return G_SOURCE_REMOVE;
}

static void cairn_run_edit(char *cmd) { g_idle_add(cairn_edit, cmd); }
static void cairn_run_tune_view(void) { g_idle_add(cairn_tune_view, NULL); }
static void cairn_run_zoom(double step) {
	double *p = malloc(sizeof(double));
	*p = step;
	g_idle_add(cairn_zoom, p);
}
*/
import "C"

import (
	"os"
)

// webkitEnv are WebKit environment settings read when its processes start;
// set before GTK starts, unless the person set them.
var webkitEnv = map[string]string{
	// The DMA-BUF renderer brings GPU buffers a software-rendered window
	// does not use, and blank windows on some drivers.
	"WEBKIT_DISABLE_DMABUF_RENDERER": "1",
}

// tuneWebKitProcess applies the process-wide WebKit settings; it must run on
// the thread that will run GTK (runDesktop locks it), before wails.Run.
func tuneWebKitProcess() {
	for k, v := range webkitEnv {
		if _, set := os.LookupEnv(k); !set {
			os.Setenv(k, v)
		}
	}
	C.cairn_tune_context()
}

// tuneWebView applies the web view's settings, on GTK's thread.
func tuneWebView() { C.cairn_run_tune_view() }

// editCommand runs a WebKit editing command ("Copy", "Paste", "Cut",
// "SelectAll", "Undo", "Redo") in the web view, on GTK's thread.
func editCommand(cmd string) { C.cairn_run_edit(C.CString(cmd)) }

// zoomBy changes the page's zoom by step (0 resets it).
func zoomBy(step float64) { C.cairn_run_zoom(C.double(step)) }
