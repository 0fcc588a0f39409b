@acceptance @fallback
Feature: Boundary groups for intranet clients
  An intranet client's content comes from the distribution points of its boundary group; from 1810
  a task sequence also falls back to a neighbour group's DPs, and a group can prefer cloud sources
  over its own DPs.

  Background:
    Given the CMG serves content from Azure storage
    And the in-place upgrade task sequence PS100150 references these packages:
      | package  | name                     | type               | size   |
      | PS100151 | Windows 11 upgrade media | OS upgrade package | 3.2 GB |
    And the task sequence has these steps:
      | step                     | action                   | package  | duration   |
      | Upgrade Operating System | Upgrade Operating System | PS100151 | 40 minutes |
    And these boundary groups:
      | boundary group | ad site      | distribution points | neighbors    | prefer cloud |
      | Headquarters   | HQ-Site      | CM01                |              |              |
      | Branch         | Branch-Site  |                     | Headquarters |              |
      | Cloud-first    | Remote-Site  | DP02                |              | yes          |

  @matrix:ts_boundary_group_fallback
  @behaviour:B-14 @behaviour:B-15 @behaviour:B-18
  Scenario Outline: A task sequence falls back to a neighbour boundary group's DP from version 1810 (<version>)
    Given the site runs Configuration Manager version <version>
    And the packages are distributed to the on-premises distribution point
    And the task sequence is deployed as Available with "Download content locally when needed by the running task sequence"
    And an intranet client CLIENT22 in AD site Branch-Site
    When the user installs the deployment from Software Center
    Then <outcome>

    Examples:
      | version | outcome                                                                                |
      | 1802    | the task sequence fails at step "Upgrade Operating System" with 0x80040102               |
      | 1806    | the task sequence fails at step "Upgrade Operating System" with 0x80040102               |
      | 1810    | every package is downloaded from the on-premises distribution point                    |
      | 1902    | every package is downloaded from the on-premises distribution point                    |
      | 1906    | every package is downloaded from the on-premises distribution point                    |
      | 1910    | every package is downloaded from the on-premises distribution point                    |
      | 2002    | every package is downloaded from the on-premises distribution point                    |
      | 2006    | every package is downloaded from the on-premises distribution point                    |
      | 2010    | every package is downloaded from the on-premises distribution point                    |
      | 2107    | every package is downloaded from the on-premises distribution point                    |

  @matrix:prefer_cloud_sources
  @behaviour:B-17 @behaviour:B-19
  Scenario Outline: "Prefer cloud based sources" puts the CMG before the group's own DP from version 1810 (<version>)
    Given the site runs Configuration Manager version <version>
    And the packages are distributed to the CMG and the branch distribution point
    And the task sequence is deployed as Available with "Download all content locally before starting task sequence"
    And an intranet client CLIENT23 in AD site Remote-Site
    When the user installs the deployment from Software Center
    Then the task sequence succeeds
    And every package is downloaded from <source>

    Examples:
      | version | source                         |
      | 1802    | the branch distribution point  |
      | 1806    | the branch distribution point  |
      | 1810    | the CMG                        |
      | 1902    | the CMG                        |
      | 1906    | the CMG                        |
      | 1910    | the CMG                        |
      | 2002    | the CMG                        |
      | 2006    | the CMG                        |
      | 2010    | the CMG                        |
      | 2107    | the CMG                        |

  @behaviour:B-15
  Scenario: A client in a group with its own DP gets its content there, not from a neighbour
    Given the site runs Configuration Manager version 1910
    And the packages are distributed to the on-premises distribution point
    And the task sequence is deployed as Available with "Download content locally when needed by the running task sequence"
    And an intranet client CLIENT24 in AD site HQ-Site
    When the user installs the deployment from Software Center
    Then the task sequence succeeds
    And every package is downloaded from the on-premises distribution point
