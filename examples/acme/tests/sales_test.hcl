# Flow tests for the sales line: every path through flows/sales.hcl.

test "sales: dana answers" {
  flow         = flow.sales
  digits       = "1"
  path         = [ivr.menu, transfer_user.dana]
  ending       = "connected"
  connected_to = user.dana
}

test "sales: dana busy, then free after the queue" {
  flow         = flow.sales
  digits       = "1"
  agents       = { dana = ["busy", "answers"] }
  path         = [ivr.menu, transfer_user.dana]
  ending       = "connected"
  connected_to = user.dana
}

test "sales: dana busy through the queue takes a message" {
  flow   = flow.sales
  digits = "1"
  agents = { dana = "busy" }
  path   = [ivr.menu, transfer_user.dana, voicemail.sales]
  ending = "message"
}

test "sales: dana busy, free, then rings out" {
  flow   = flow.sales
  digits = "1"
  agents = { dana = ["busy", "no-answer"] }
  path   = [ivr.menu, transfer_user.dana, voicemail.sales]
  ending = "message"
}

test "sales: dana unavailable takes a message" {
  flow   = flow.sales
  digits = "1"
  agents = { dana = "unavailable" }
  path   = [ivr.menu, transfer_user.dana, voicemail.sales]
  ending = "message"
}

test "sales: dana rings out, silent caller hears the hours" {
  flow      = flow.sales
  digits    = "1"
  agents    = { dana = "no-answer" }
  voicemail = "silent"
  path      = [ivr.menu, transfer_user.dana, voicemail.sales, announce.hours]
  ending    = "flow-end"
}

test "sales: erik answers" {
  flow         = flow.sales
  digits       = "2"
  path         = [ivr.menu, transfer_user.erik]
  ending       = "connected"
  connected_to = user.erik
}

test "sales: erik busy through the queue, storage full" {
  flow      = flow.sales
  digits    = "2"
  agents    = { erik = "busy" }
  voicemail = "storage-full"
  path      = [ivr.menu, transfer_user.erik, voicemail.sales]
  ending    = "no-message"
}

test "sales: erik unavailable takes a message" {
  flow   = flow.sales
  digits = "2"
  agents = { erik = "unavailable" }
  path   = [ivr.menu, transfer_user.erik, voicemail.sales]
  ending = "message"
}

test "sales: erik rings out takes a message" {
  flow   = flow.sales
  digits = "2"
  agents = { erik = "no-answer" }
  path   = [ivr.menu, transfer_user.erik, voicemail.sales]
  ending = "message"
}

test "sales: star plays the opening hours" {
  flow   = flow.sales
  digits = "*"
  path   = [ivr.menu, announce.hours]
  ending = "flow-end"
}

test "sales: no key rings dana" {
  flow         = flow.sales
  path         = [ivr.menu, transfer_user.dana]
  ending       = "connected"
  connected_to = user.dana
}

test "sales: dana busy and her queue full takes a message" {
  flow       = flow.sales
  digits     = "1"
  agents     = { dana = "busy" }
  queue_full = true
  path       = [ivr.menu, transfer_user.dana, voicemail.sales]
  ending     = "message"
}

test "sales: erik busy, free, then unavailable" {
  flow   = flow.sales
  digits = "2"
  agents = { erik = ["busy", "unavailable"] }
  path   = [ivr.menu, transfer_user.erik, voicemail.sales]
  ending = "message"
}

test "sales: dana free after the queue, then busy again" {
  flow   = flow.sales
  digits = "1"
  agents = { dana = ["busy", "free", "busy"] }
  path   = [ivr.menu, transfer_user.dana, voicemail.sales]
  ending = "message"
}

test "sales: dana free after the queue, then unavailable" {
  flow   = flow.sales
  digits = "1"
  agents = { dana = ["busy", "free", "unavailable"] }
  path   = [ivr.menu, transfer_user.dana, voicemail.sales]
  ending = "message"
}

test "sales: erik's queue full takes a message" {
  flow       = flow.sales
  digits     = "2"
  agents     = { erik = "busy" }
  queue_full = true
  path       = [ivr.menu, transfer_user.erik, voicemail.sales]
  ending     = "message"
}

test "sales: erik free after the queue answers" {
  flow         = flow.sales
  digits       = "2"
  agents       = { erik = ["busy", "answers"] }
  path         = [ivr.menu, transfer_user.erik]
  ending       = "connected"
  connected_to = user.erik
}

test "sales: erik free after the queue rings out" {
  flow   = flow.sales
  digits = "2"
  agents = { erik = ["busy", "no-answer"] }
  path   = [ivr.menu, transfer_user.erik, voicemail.sales]
  ending = "message"
}

test "sales: erik free after the queue, then busy again" {
  flow   = flow.sales
  digits = "2"
  agents = { erik = ["busy", "free", "busy"] }
  path   = [ivr.menu, transfer_user.erik, voicemail.sales]
  ending = "message"
}
