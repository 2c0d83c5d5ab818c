# Flow tests for the support line: every path through flows/support.hcl.
# Run them with: callflow test examples/acme

test "support: billing answers" {
  flow         = flow.support
  digits       = "1"
  agents       = { alice = "no-answer", carol = "answers" }
  path         = [announce.welcome, ivr.main, transfer_group.billing]
  ending       = "connected"
  connected_to = user.carol
}

test "support: billing all busy takes a message" {
  flow   = flow.support
  digits = "1"
  agents = { alice = "busy", carol = "busy" }
  path   = [announce.welcome, ivr.main, transfer_group.billing, voicemail.general]
  ending = "message"
}

test "support: billing unavailable takes a message" {
  flow   = flow.support
  digits = "1"
  agents = { alice = "unavailable", carol = "unavailable" }
  path   = [announce.welcome, ivr.main, transfer_group.billing, voicemail.general]
  ending = "message"
}

test "support: billing rings out, silent caller hears goodbye" {
  flow      = flow.support
  digits    = "1"
  agents    = { alice = "no-answer", carol = "no-answer" }
  voicemail = "silent"
  path      = [announce.welcome, ivr.main, transfer_group.billing, voicemail.general, announce.goodbye]
  ending    = "flow-end"
}

test "support: tech answers in parallel" {
  flow         = flow.support
  digits       = "2"
  agents       = { bob = "busy", dave = "answers" }
  path         = [announce.welcome, ivr.main, transfer_group.tech]
  ending       = "connected"
  connected_to = group.tech
}

test "support: tech all busy takes a message" {
  flow   = flow.support
  digits = "2"
  agents = { bob = "busy", dave = "busy", alice = "busy" }
  path   = [announce.welcome, ivr.main, transfer_group.tech, voicemail.general]
  ending = "message"
}

test "support: tech unavailable takes a message" {
  flow   = flow.support
  digits = "2"
  agents = { bob = "unavailable", dave = "unavailable", alice = "unavailable" }
  path   = [announce.welcome, ivr.main, transfer_group.tech, voicemail.general]
  ending = "message"
}

test "support: tech rings out takes a message" {
  flow   = flow.support
  digits = "2"
  agents = { bob = "no-answer", dave = "no-answer", alice = "no-answer" }
  path   = [announce.welcome, ivr.main, transfer_group.tech, voicemail.general]
  ending = "message"
}

test "support: 0 goes straight to voicemail, storage full" {
  flow      = flow.support
  digits    = "0"
  voicemail = "storage-full"
  path      = [announce.welcome, ivr.main, voicemail.general]
  ending    = "no-message"
}

test "support: no key goes to tech" {
  flow         = flow.support
  path         = [announce.welcome, ivr.main, transfer_group.tech]
  ending       = "connected"
  connected_to = user.bob
}

test "support: a key with no connection falls through to the time-out" {
  flow   = flow.support
  digits = "9"
  path   = [announce.welcome, ivr.main, transfer_group.tech]
  ending = "connected"
}
