// Renders Ollama-style prompts with Go's real text/template, as Ollama hands messages to a TEMPLATE:
// consecutive messages of one role (tool results excepted) merged with a blank line, and the Modelfile's
// SYSTEM put first as a system message when the conversation has none.
//
// stdin: [{"template": "...", "system": "..." or null, "messages": [{"role": "...", "content": "..."}]}]
// stdout: [{"text": "..."} or {"error": "..."}], one per case.
package main

import (
	"bytes"
	"encoding/json"
	"os"
	"text/template"
)

type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type Case struct {
	Template string    `json:"template"`
	System   *string   `json:"system"`
	Messages []Message `json:"messages"`
}

type Result struct {
	Text  *string `json:"text,omitempty"`
	Error string  `json:"error,omitempty"`
}

func prepare(c Case) []*Message {
	messages := c.Messages
	if c.System != nil && *c.System != "" && (len(messages) == 0 || messages[0].Role != "system") {
		messages = append([]Message{{Role: "system", Content: *c.System}}, messages...)
	}
	var merged []*Message
	for i := range messages {
		m := messages[i]
		if len(merged) > 0 && merged[len(merged)-1].Role == m.Role && m.Role != "tool" {
			merged[len(merged)-1].Content += "\n\n" + m.Content
			continue
		}
		merged = append(merged, &m)
	}
	return merged
}

func render(c Case) Result {
	tmpl, err := template.New("").Parse(c.Template)
	if err != nil {
		return Result{Error: err.Error()}
	}
	var out bytes.Buffer
	if err := tmpl.Execute(&out, map[string]any{"Messages": prepare(c)}); err != nil {
		return Result{Error: err.Error()}
	}
	text := out.String()
	return Result{Text: &text}
}

func main() {
	var cases []Case
	if err := json.NewDecoder(os.Stdin).Decode(&cases); err != nil {
		panic(err)
	}
	results := make([]Result, len(cases))
	for i, c := range cases {
		results[i] = render(c)
	}
	if err := json.NewEncoder(os.Stdout).Encode(results); err != nil {
		panic(err)
	}
}
