@acceptance @timing
Feature: Client link profiles
  A client's network link, in model units, shapes everything the client sends and receives: a 3.2 GB package
  takes about 21 minutes to arrive over a 20 Mbit/s link, five times as long as over 100 Mbit/s, and latency adds
  a round trip to each request, not to the transfer. Timings are model time, judged to the second on the
  virtual clock (with the tolerances measured on these machines on the real clock, harness/model/timing.py).

  Background:
    Given the CMG serves content from Azure storage
    And the in-place upgrade task sequence PS100300 references these packages:
      | package  | name                     | type               | size   |
      | PS100301 | Windows 11 upgrade media | OS upgrade package | 3.2 GB |
    And the task sequence has these steps:
      | step                     | action                   | package  | duration |
      | Upgrade Operating System | Upgrade Operating System | PS100301 | 1 minute |
    And the packages are distributed to the CMG
    And the site runs Configuration Manager version 2107
    And the task sequence is deployed as Available with "Download content locally when needed by the running task sequence"
    And an internet client CLIENT60

  @behaviour:B-24
  Scenario Outline: The same upgrade waits for its package as long as the link's bandwidth makes it
    Given the client's link is <link>
    When the user installs the deployment from Software Center
    Then the task sequence succeeds
    And the download of PS100301 takes about <download>
    And the client's ClientLocation.log says "Network link: <bandwidth> down"

    Examples:
      | link                         | bandwidth  | download     |
      | 20 Mbit/s                    | 20 Mbit/s  | 1280 seconds |
      | 20 Mbit/s with 80 ms latency | 20 Mbit/s  | 1280 seconds |
      | 100 Mbit/s                   | 100 Mbit/s | 256 seconds  |
