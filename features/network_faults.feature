@acceptance @network @faults
Feature: Outages in the network and in Azure storage
  The fault proxies in front of each service stand in for the network: a stopped CMG (on its egress threshold,
  B-48) or an unreachable storage account refuses connections. Internet clients reach the site
  only through the CMG, so without it they get no policy and no content locations; without storage they get
  locations but no bytes.

  Background:
    Given the CMG serves content from Azure storage
    And the in-place upgrade task sequence PS100220 references these packages:
      | package  | name                     | type               | size   |
      | PS100221 | Windows 11 upgrade media | OS upgrade package | 3.2 GB |
      | PS100222 | Surface drivers          | Driver package     | 600 MB |
    And the task sequence has these steps:
      | step                     | action                   | package  | duration   |
      | Check Readiness          | Check Readiness          |          | 2 minutes  |
      | Upgrade Operating System | Upgrade Operating System | PS100221 | 40 minutes |
      | Apply drivers            | Run Command Line         | PS100222 | 5 minutes  |
    And the packages are distributed to the CMG
    And an internet client CLIENT41
    And the site runs Configuration Manager version 2010

  @behaviour:B-48
  Scenario Outline: A stopped CMG leaves internet clients without policy (<option>)
    Given the task sequence is deployed as Available with "<option>"
    And the CMG is down
    When the user installs the deployment from Software Center
    Then the task sequence does not start and fails with 0x80072EFD
    And no content is downloaded

    Examples:
      | option                                                            |
      | Download content locally when needed by the running task sequence |
      | Download all content locally before starting task sequence        |

  @behaviour:B-31 @behaviour:B-32 @behaviour:B-46 @behaviour:B-49
  Scenario Outline: Storage that cannot be reached fails the download after its retries (<content>)
    Given the task sequence is deployed as Available with "<option>"
    And Azure storage is down
    When the user installs the deployment from Software Center
    Then the task sequence <outcome>
    And the download of PS100221 from the CMG is tried <attempts> times, at least 15 seconds apart

    Examples:
      | content          | option                                                            | outcome                                                   | attempts |
      | on demand        | Download content locally when needed by the running task sequence | fails at step "Upgrade Operating System" with 0x80072EFD | 3        |
      | downloaded first | Download all content locally before starting task sequence        | does not start and fails with 0x80072EFD                 | 1        |

  @behaviour:B-24 @behaviour:B-48
  Scenario: A CMG that stops in the middle of an on-demand run fails the step whose content comes after
    Given the task sequence has these steps:
      | step                     | action                   | package  | duration   |
      | Check Readiness          | Check Readiness          |          | 2 minutes  |
      | Upgrade Operating System | Upgrade Operating System | PS100221 | 4 hours    |
      | Apply drivers            | Run Command Line         | PS100222 | 5 minutes  |
    And the task sequence is deployed as Available with "Download content locally when needed by the running task sequence"
    And the CMG goes down 2 hours after the task sequence is installed
    When the user installs the deployment from Software Center
    Then the step "Upgrade Operating System" runs
    And the task sequence fails at step "Apply drivers" with 0x80072EFD

  @behaviour:B-34
  Scenario: A download cut by the network resumes on the next attempt where it stopped
    Given the task sequence is deployed as Available with "Download content locally when needed by the running task sequence"
    And every connection to Azure storage is cut after 2 GB
    When the user installs the deployment from Software Center
    Then the task sequence succeeds
    And the download of PS100221 from the CMG is tried 2 times, at least 15 seconds apart

  @behaviour:B-34
  Scenario: A blob download storage cut short is resumed from where it stopped
    Given the task sequence is deployed as Available with "Download content locally when needed by the running task sequence"
    And Azure storage cuts the next download of PS100221 after 1 GB
    When the user installs the deployment from Software Center
    Then the task sequence succeeds
    And the download of PS100221 from the CMG is tried 2 times, at least 15 seconds apart
    And the second attempt at PS100221 asks Azure storage only for the rest from 1 GB

  @behaviour:B-31 @behaviour:B-49
  Scenario Outline: A connection to storage that <what> fails the download after its retries
    Given the task sequence is deployed as Available with "Download content locally when needed by the running task sequence"
    And every connection to Azure storage <fault>
    When the user installs the deployment from Software Center
    Then the task sequence fails at step "Upgrade Operating System" with <code>
    And the download of PS100221 from the CMG is tried 3 times, at least 15 seconds apart

    Examples:
      | what              | fault                                | code       |
      | stalls and closes | stalls and is closed after 5 minutes | 0x80072EFE |
      | is reset          | is reset                             | 0x80072EFE |

  @behaviour:B-46
  Scenario: Storage that sends in small pieces with pauses is at least as slow as its pauses
    Given the task sequence is deployed as Available with "Download content locally when needed by the running task sequence"
    And Azure storage sends in pieces of 16 KB on the wire, 1 minute apart
    When the user installs the deployment from Software Center
    Then the task sequence succeeds
    And the download of PS100221 takes at least 39 minutes
