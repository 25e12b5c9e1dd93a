// Package importers reads other assistants' exports (ChatGPT, Claude,
// Open WebUI) and Cairn's own files, and turns them into a
// portable.Source for the import engine. Everything it reads is outside
// data: zip archives and JSON are read under limits (entry count and
// sizes, compression ratio, paths, nesting, string length), and a file it
// does not recognise is refused with a message that says what it accepts.
package importers
