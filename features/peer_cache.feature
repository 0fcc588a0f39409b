@acceptance @fallback
Feature: Peer cache, and why it does not reach over the CMG
  A peer cache source is a client that shares the content of its cache with the clients of its boundary group.
  The management point offers such peers to a client whose boundary group allows peer downloads, and a task
  sequence tries them before the distribution points. Peer cache is not supported over a cloud management
  gateway: the management point offers an internet client no peer, and it takes its content from the CMG.

  Background:
    Given the CMG serves content from Azure storage
    And the in-place upgrade task sequence PS100400 references these packages:
      | package  | name                     | type               | size   |
      | PS100401 | Windows 11 upgrade media | OS upgrade package | 3.2 GB |
      | PS100402 | Drivers                  | Driver package     | 400 MB |
    And the task sequence has these steps:
      | step                     | action                   | package  | duration   |
      | Upgrade Operating System | Upgrade Operating System | PS100401 | 40 minutes |
      | Apply drivers            | Run Command Line         | PS100402 | 5 minutes  |
    And the site runs Configuration Manager version 2107
    And the packages are distributed to the CMG and the on-premises distribution point
    And the task sequence is deployed as Available with "Download content locally when needed by the running task sequence"
    And a peer cache source in AD site HQ-Site has the packages in its cache

  @behaviour:B-21
  Scenario: An intranet client's task sequence takes its content from a peer cache source first
    Given these boundary groups:
      | boundary group | ad site | distribution points |
      | Headquarters   | HQ-Site | CM01                |
    And an intranet client CLIENT60 in AD site HQ-Site
    When the user installs the deployment from Software Center
    Then the task sequence succeeds
    And every package is downloaded from the peer cache source

  @behaviour:B-21
  Scenario: A boundary group that does not allow peer downloads gets its content from its distribution point
    Given these boundary groups:
      | boundary group | ad site | distribution points | peer downloads |
      | Headquarters   | HQ-Site | CM01                | no             |
    And an intranet client CLIENT61 in AD site HQ-Site
    When the user installs the deployment from Software Center
    Then the task sequence succeeds
    And every package is downloaded from the on-premises distribution point
    And no content location reply lists the peer cache source

  @behaviour:B-21
  Scenario: A peer cache source in another boundary group is not offered
    Given these boundary groups:
      | boundary group | ad site     | distribution points |
      | Headquarters   | HQ-Site     | CM01                |
      | Branch         | Branch-Site | CM01                |
    And an intranet client CLIENT62 in AD site Branch-Site
    When the user installs the deployment from Software Center
    Then the task sequence succeeds
    And every package is downloaded from the on-premises distribution point
    And no content location reply lists the peer cache source

  @behaviour:B-22
  Scenario: Over the CMG peer cache is not supported: an internet client is offered no peer
    Given these boundary groups:
      | boundary group | ad site | distribution points |
      | Headquarters   | HQ-Site | CM01                |
    And an internet client CLIENT63 in AD site HQ-Site
    When the user installs the deployment from Software Center
    Then the task sequence succeeds
    And every package is downloaded from the CMG
    And no content location reply lists the peer cache source
