user "alice" {
  display_name = "Alice"

flow "support" { # ERROR: Unclosed configuration block # ERROR: Unsupported block type
