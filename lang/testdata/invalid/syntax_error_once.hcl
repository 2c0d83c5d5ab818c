number "main" {
  e164 = # ERROR: Invalid expression
  type = "local"
}
