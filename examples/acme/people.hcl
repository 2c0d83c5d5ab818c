# Telephony users (S25) and groups (S27).

user "alice" {
  display_name           = "Alice Tanaka"
  email                  = "alice@acme.example"
  allow_outgoing         = true
  record_outgoing        = true
  caller_id              = number.support
  allow_custom_caller_id = true
}

user "bob" {
  display_name   = "Bob Okafor"
  email          = "bob@acme.example"
  allow_outgoing = true
  caller_id      = number.support
}

user "carol" {
  display_name = "Carol Jensen"
  email        = "carol@acme.example"
}

user "dave" {
  display_name = "Dave Moreau"
  email        = "dave@acme.example"
}

user "dana" {
  display_name    = "Dana Whitfield"
  email           = "dana@acme.example"
  allow_outgoing  = true
  record_outgoing = true
  caller_id       = number.sales
}

user "erik" {
  display_name   = "Erik Lindqvist"
  email          = "erik@acme.example"
  allow_outgoing = true
  caller_id      = number.executive
}

user "grace" {
  display_name   = "Grace Hopper-Lee"
  email          = "grace@acme.example"
  allow_outgoing = true
  caller_id      = number.executive
}

group "billing" {
  description = "Invoices, refunds and payment questions"
  members     = [user.alice, user.carol]
}

group "tech" {
  description = "Technical support"
  members     = [user.bob, user.dave, user.alice]
}
