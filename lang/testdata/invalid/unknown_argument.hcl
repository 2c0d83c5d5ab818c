user "alice" {
  display_nam = "Alice" # ERROR: Unsupported argument
}
