user "alice" {
  caller_id = # ERROR: Invalid expression
}
