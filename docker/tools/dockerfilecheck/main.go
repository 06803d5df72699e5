// dockerfilecheck parses a Dockerfile with BuildKit's own parser and instruction
// decoder, with BuildKit's build checks (the rules of `docker build --check`) turned
// on, and fails on any parse error or check warning. No Docker engine needed.
//
//	go run ./docker/tools/dockerfilecheck docker/Dockerfile
package main

import (
	"fmt"
	"os"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: dockerfilecheck PATH/TO/Dockerfile")
		os.Exit(2)
	}
	path := os.Args[1]
	f, err := os.Open(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	defer f.Close()

	problems := 0
	report := func(format string, args ...any) {
		problems++
		fmt.Printf("%s: "+format+"\n", append([]any{path}, args...)...)
	}

	res, err := parser.Parse(f)
	if err != nil {
		report("parse error: %v", err)
		os.Exit(1)
	}
	for _, w := range res.Warnings {
		report("parser warning (line %d): %s", w.Location.Start.Line, w.Short)
	}

	lint := linter.New(&linter.Config{
		Warn: func(rule, description, url, msg string, location []parser.Range) {
			line := 0
			if len(location) > 0 {
				line = location[0].Start.Line
			}
			report("check %s (line %d): %s", rule, line, msg)
		},
	})
	stages, metaArgs, err := instructions.Parse(res.AST, lint)
	if err != nil {
		report("instruction error: %v", err)
		os.Exit(1)
	}
	if problems > 0 {
		os.Exit(1)
	}
	fmt.Printf("%s: ok, %d global ARGs, %d stages:", path, len(metaArgs), len(stages))
	for _, s := range stages {
		fmt.Printf(" %s(%s, %d instructions)", s.Name, s.BaseName, len(s.Commands))
	}
	fmt.Println()
}
