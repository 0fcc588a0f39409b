@load
Feature: Real load through the CMG
  Many of the harness's emulated internet clients at once, through the CMG, in real time: Locust runs them
  (cmg-harness load does the same from the command line, against local, containers or a real lab). Each client
  goes through registration, policy, a content location request and the content download, again and again.

  Scenario: Twenty clients load the CMG for five seconds without a failure
    When 20 clients load the CMG for 5 seconds of real time
    Then at most 0 % of the load's requests fail
    And every client of the load completes at least one client flow
    And 95 % of the load's client flows complete within 10 seconds
